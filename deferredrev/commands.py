"""The bodies of the CLI commands. Each reads settings once and builds only what it needs."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from deferredrev.runtime import Runtime, build_runtime
from deferredrev.settings import Plan, Settings
from deferredrev.storage import db
from deferredrev.storage.repositories import audit, set_plan
from deferredrev.storage.vault import TokenVault, VaultError, generate_key

if TYPE_CHECKING:
    from sqlalchemy import Engine


class CommandError(Exception):
    """A command could not do what was asked; the message says why and what to do."""


def _settings(*, require_keys: bool = True) -> Settings:
    return Settings.from_env(os.environ, require_keys=require_keys)


def _runtime(*, require_keys: bool = True) -> Runtime:
    settings = _settings(require_keys=require_keys)
    from deferredrev.logs import configure_logging

    runtime = build_runtime(settings)
    configure_logging(runtime.secrets)
    return runtime


def serve(args: argparse.Namespace) -> int:
    from deferredrev.server import run_server

    settings = _settings()
    settings.require_for_serve()
    return run_server(settings)


def demo(args: argparse.Namespace) -> int:
    from deferredrev.demo import run_demo

    return run_demo(quiet=args.quiet, chart=Path(args.chart) if args.chart else None)


def sandbox(args: argparse.Namespace) -> int:
    from deferredrev.sandbox.serve import serve_sandboxes

    return serve_sandboxes(intuit_port=args.intuit_port, slack_port=args.slack_port)


def contracts_import(args: argparse.Namespace) -> int:
    from deferredrev.revrec.csv_contracts import NotUtf8Error, decode_contracts_csv
    from deferredrev.services.contracts import ContractImportError, import_contracts_csv

    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error.__class__.__name__}") from None
    try:
        text = decode_contracts_csv(content, name=str(path), then="import it again")
    except NotUtf8Error as error:
        raise CommandError(str(error)) from None
    runtime = _runtime()
    try:
        _upgrade(runtime.settings, runtime.engine)
        result = import_contracts_csv(
            runtime.sessions,
            runtime.clock,
            team_id=args.team,
            text=text,
            actor="cli",
            default_plan=runtime.settings.default_plan,
        )
    except ContractImportError as error:
        print(f"{path}: nothing imported, {len(error.errors)} problem(s):", file=sys.stderr)
        for problem in error.errors:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    print(
        f"{path}: imported {result.created} new and updated {result.updated} contract(s) for team {args.team} "
        f"({result.unchanged} unchanged)"
    )
    return 0


def contracts_export(args: argparse.Namespace) -> int:
    from deferredrev.revrec.errors import PeriodError
    from deferredrev.services.contracts import export_contracts_csv, export_report_csv

    if args.report and not args.period:
        raise CommandError("--report needs --period (YYYY-MM, or YYYY-MM..YYYY-MM for a waterfall)")
    runtime = _runtime()
    try:
        _upgrade(runtime.settings, runtime.engine)
        if args.report:
            text = export_report_csv(runtime.sessions, team_id=args.team, report=args.report, periods=args.period)
        else:
            text = export_contracts_csv(runtime.sessions, team_id=args.team, period=args.period)
        sys.stdout.write(text)
    except PeriodError as error:
        raise CommandError(f"--period: {error}") from None
    finally:
        runtime.close()
    return 0


def report(args: argparse.Namespace) -> int:
    """The roll-forward over a range of months: a summary with the tie-out on stdout, the CSV and the chart in --out."""
    from deferredrev.revrec.errors import PeriodError
    from deferredrev.revrec.rollforward import parse_range
    from deferredrev.services.reports import table, tie_out_lines
    from deferredrev.wiring import wire

    out = Path(args.out)
    if not out.is_dir():
        raise CommandError(f"--out: {out} is not a folder")
    runtime = _runtime()
    try:
        _upgrade(runtime.settings, runtime.engine)
        app = wire(runtime, slack=False)
        try:
            first, last = parse_range(args.period) if args.period else app.reports.default_range()
            made = app.reports.build(args.team, first, last, requested_by="cli")
        except PeriodError as error:
            raise CommandError(f"--period: {error}") from None
        finally:
            app.close()
    finally:
        runtime.close()
    csv_path, png_path = out / f"{made.file_stem}.csv", out / f"{made.file_stem}.png"
    csv_path.write_text(made.csv_text, encoding="utf-8")
    png_path.write_bytes(made.png)
    content = made.content
    print(f"Deferred revenue roll-forward · {content['label']} · team {args.team}")
    if not content["currencies"]:
        print("No contract has deferred revenue in this range.")
    for currency in content["currencies"]:
        print(f"\n{currency}")
        print("\n".join(table(content, currency)))
    print()
    print("\n".join(tie_out_lines(content["tie_out"])))
    print(f"\nWrote {csv_path} and {png_path}")
    return 0


def _upgrade(settings: Settings, engine: Engine) -> None:
    """Migrate, with the vault when keys are configured (a migration that re-encrypts tokens needs it)."""
    vault = TokenVault(settings.encryption_keys) if settings.encryption_keys else None
    try:
        db.upgrade(engine, vault=vault)
    except db.MigrationNeedsKeysError as error:
        raise CommandError(f"database not upgraded: {error}") from None


def db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(require_keys=False)
    engine = db.make_engine(settings.database_url)
    try:
        _upgrade(settings, engine)
    finally:
        engine.dispose()
    print("database is up to date")
    return 0


def keys_generate(args: argparse.Namespace) -> int:
    key_id = args.id or f"k{datetime.now(UTC):%Y%m%d}"
    print(generate_key(key_id))
    print(
        "Put it first in DEFERREDREV_ENCRYPTION_KEYS (keep older keys after it), restart, "
        "then run `deferredrev keys rotate`.",
        file=sys.stderr,
    )
    return 0


def keys_rotate(args: argparse.Namespace) -> int:
    from deferredrev.storage.slack_store import rotate_slack_tokens

    runtime = _runtime()
    try:
        with runtime.sessions.begin() as session:
            touched = runtime.tokens.rotate_all(session)
            slack_rows = rotate_slack_tokens(session, runtime.vault)
            audit(session, action="keys.rotate", now=runtime.clock.now(), actor="cli", rows=touched, slack_rows=slack_rows)
    except VaultError as error:  # its message names the row and key id, never key material or tokens
        raise CommandError(f"nothing re-encrypted: {error}") from None
    finally:
        runtime.close()
    print(
        f"re-encrypted {touched} connection(s) and {slack_rows} Slack installation row(s) "
        f"under key {runtime.vault.primary_key_id!r}"
    )
    return 0


def plan_set(args: argparse.Namespace) -> int:
    settings = _settings(require_keys=False)
    engine = db.make_engine(settings.database_url)
    try:
        _upgrade(settings, engine)
        with db.make_session_factory(engine).begin() as session:
            now = datetime.now(UTC)
            set_plan(session, args.team, Plan(args.plan), now=now)
            audit(session, action="plan.set", now=now, team_id=args.team, actor="cli", plan=args.plan)
    finally:
        engine.dispose()
    print(f"workspace {args.team} is now on the {args.plan} plan")
    return 0
