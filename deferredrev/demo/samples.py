"""Bundled sample data, found relative to the package (never the working directory)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_CONTRACTS = "sample_contracts.csv"


def sample_contracts_path() -> Path:
    """The bundled sample contracts CSV: 40 USD SaaS contracts starting between 2025-10 and 2027-06."""
    resource = files("deferredrev.demo").joinpath(SAMPLE_CONTRACTS)
    return resource if isinstance(resource, Path) else Path(__file__).with_name(SAMPLE_CONTRACTS)


def sample_contracts_text() -> str:
    return files("deferredrev.demo").joinpath(SAMPLE_CONTRACTS).read_text(encoding="utf-8")
