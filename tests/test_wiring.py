"""Choices the composition root makes from the environment."""

from __future__ import annotations

import pytest

from deferredrev.bot.response_url import ResponseUrlPoster
from deferredrev.wiring import response_url_poster

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_answers_use_kept_alive_connections_without_a_proxy(no_proxy: pytest.MonkeyPatch) -> None:
    poster = response_url_poster()
    assert isinstance(poster, ResponseUrlPoster)
    poster.close()


@pytest.mark.parametrize("variable", PROXY_VARIABLES)
def test_behind_an_egress_proxy_answers_go_through_bolts_respond(no_proxy: pytest.MonkeyPatch, variable: str) -> None:
    no_proxy.setenv(variable, "http://proxy.internal:3128")
    assert response_url_poster() is None


def test_an_empty_proxy_variable_means_no_proxy(no_proxy: pytest.MonkeyPatch) -> None:
    no_proxy.setenv("HTTPS_PROXY", " ")
    poster = response_url_poster()
    assert poster is not None
    poster.close()
