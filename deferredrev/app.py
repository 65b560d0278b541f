"""Composition root and command line: settings -> engine -> services -> Bolt app -> web server / scheduler.

``deferredrev [serve]``, ``demo``, ``sandbox``, ``contracts import|export``, ``report``, ``db upgrade``,
``keys generate|rotate``, ``plan set``. Every command reads the environment once, through :class:`Settings`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from deferredrev import commands
from deferredrev.settings import SettingsError

if TYPE_CHECKING:
    from deferredrev.runtime import Runtime
    from deferredrev.wiring import Application

Handler = Callable[[argparse.Namespace], int]


def build_application(runtime: Runtime) -> Application:
    """settings -> engine -> services -> Bolt app -> web app (the scheduler is started by whoever serves)."""
    from deferredrev.wiring import wire

    return wire(runtime)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deferredrev", description="Deferred-revenue recognition from Slack to QuickBooks")
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("serve", help="serve Slack and the QuickBooks pages (HTTP on $PORT, or Socket Mode)")
    demo = sub.add_parser("demo", help="run the whole flow against the sandboxes and print a transcript")
    demo.add_argument("--quiet", action="store_true", help="print only the summary")
    demo.add_argument("--chart", default=None, help="save the final report's waterfall chart (PNG) to this file")
    sandbox = sub.add_parser("sandbox", help="serve the sandbox Intuit and Slack for manual trials")
    sandbox.add_argument("--intuit-port", type=int, default=4001)
    sandbox.add_argument("--slack-port", type=int, default=4002)

    contracts = sub.add_parser("contracts", help="import or export contracts").add_subparsers(dest="contracts_command")
    imp = contracts.add_parser("import", help="import a contracts CSV (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--team", required=True, help="Slack team ID, e.g. T0123ABC")
    exp = contracts.add_parser("export", help="export contracts, or one period's schedule, as CSV")
    exp.add_argument("--team", required=True)
    exp.add_argument(
        "--period", help="YYYY-MM: that period's scheduled amounts (with --report: YYYY-MM or YYYY-MM..YYYY-MM)"
    )
    exp.add_argument(
        "--report",
        choices=["rollforward", "waterfall"],
        help="rollforward: deferred revenue opening, additions, recognised, closing for --period; "
        "waterfall: each contract's revenue by month over --period FIRST..LAST",
    )

    report = sub.add_parser(
        "report", help="the deferred-revenue roll-forward with its waterfall chart and tie-out to QuickBooks"
    )
    report.add_argument("--team", required=True, help="Slack team ID, e.g. T0123ABC")
    report.add_argument("--period", help="YYYY-MM or YYYY-MM..YYYY-MM (default: the twelve months ending last month)")
    report.add_argument("--out", default=".", help="folder for the CSV and the PNG chart (default: the current one)")

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command")
    db.add_parser("upgrade", help="apply database migrations")

    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command")
    gen = keys.add_parser("generate", help="print a new key for DEFERREDREV_ENCRYPTION_KEYS")
    gen.add_argument("--id", default=None, help="key id (default: k<yyyymmdd>)")
    keys.add_parser("rotate", help="re-encrypt every stored token under the primary (first) key")

    plan = sub.add_parser("plan", help="workspace plans").add_subparsers(dest="plan_command")
    plan_set = plan.add_parser("set", help="set a workspace's plan")
    plan_set.add_argument("team")
    plan_set.add_argument("plan", choices=["starter", "growth", "scale"])
    return parser


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("serve", None): commands.serve,
    ("demo", None): commands.demo,
    ("sandbox", None): commands.sandbox,
    ("contracts", "import"): commands.contracts_import,
    ("contracts", "export"): commands.contracts_export,
    ("report", None): commands.report,
    ("db", "upgrade"): commands.db_upgrade,
    ("keys", "generate"): commands.keys_generate,
    ("keys", "rotate"): commands.keys_rotate,
    ("plan", "set"): commands.plan_set,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    subcommand = getattr(args, f"{command}_command", None)
    handler = HANDLERS.get((command, subcommand))
    if handler is None:
        parser.print_usage(sys.stderr)
        print(f"deferredrev: `{command}` needs a subcommand; see `deferredrev {command} --help`", file=sys.stderr)
        return 2
    try:
        return handler(args)
    except SettingsError as error:
        print(f"deferredrev: configuration error: {error}", file=sys.stderr)
        return 2
    except commands.CommandError as error:
        print(f"deferredrev: {error}", file=sys.stderr)
        return 1


def environment() -> dict[str, str]:
    return dict(os.environ)


if __name__ == "__main__":
    sys.exit(main())
