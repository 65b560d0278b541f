"""`deferredrev sandbox`: serve the sandbox Intuit and Slack stand-ins for manual trials with a local `deferredrev serve`.

Sandbox Slack starts with the demo workspace ("Acme Finance": ana the admin, bo, cy, and #finance with the bot in it);
sandbox Intuit knows `http://localhost:3000/qbo/callback` as a redirect URI, so a service on the default port can
connect. The command prints the environment that points a local `deferredrev serve` at both.
"""

from __future__ import annotations

import shlex
import sys
import threading
from dataclasses import dataclass

from deferredrev.demo.stack import (
    ADMIN,
    APPROVER,
    BOT_TOKEN,
    CHANNEL,
    CHANNEL_NAME,
    LOCAL_PORT,
    LOCAL_REDIRECT_URI,
    MEMBER,
    SIGNING_SECRET,
    add_demo_workspace,
    intuit_env,
)
from deferredrev.sandbox.intuit import IntuitSandbox, SandboxConfig
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.slack import SlackSandbox, Workspace

LOCAL_APP_URL = f"http://localhost:{LOCAL_PORT}"


@dataclass
class Sandboxes:
    intuit: IntuitSandbox
    slack: SlackSandbox
    workspace: Workspace

    def stop(self) -> None:
        self.slack.stop()
        self.intuit.stop()


def start_sandboxes(*, intuit_port: int, slack_port: int) -> Sandboxes:
    """Both sandboxes on 127.0.0.1 (port 0 = any free port), seeded for a local service on port 3000."""
    config = SandboxConfig(
        port=intuit_port,
        redirect_uris=(LOCAL_REDIRECT_URI,),
        disconnect_url=f"{LOCAL_APP_URL}/qbo/disconnect",
    )
    intuit = IntuitSandbox(config).start()
    try:
        slack = SlackSandbox(signing_secret=SIGNING_SECRET, port=slack_port).start()
    except BaseException:
        intuit.stop()
        raise
    return Sandboxes(intuit, slack, add_demo_workspace(slack))


def service_env(sandboxes: Sandboxes) -> dict[str, str]:
    """The environment for a local `deferredrev serve` that talks to these sandboxes."""
    return {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": sandboxes.slack.api_url,
        **intuit_env(sandboxes.intuit),
        "PUBLIC_URL": LOCAL_APP_URL,
        "PORT": str(LOCAL_PORT),
    }


def instructions(sandboxes: Sandboxes) -> str:
    intuit, slack, workspace = sandboxes.intuit, sandboxes.slack, sandboxes.workspace
    company = intuit.companies[US_REALM].name
    people = f"ana {ADMIN} (admin), bo {APPROVER}, cy {MEMBER}"
    exports = "\n".join(f"  export {name}={shlex.quote(value)}" for name, value in service_env(sandboxes).items())
    return "\n".join(
        [
            f"Sandbox Intuit: {intuit.url}",
            f"  QuickBooks company {company!r} (realm {US_REALM}) and {len(intuit.companies) - 1} others; the consent "
            "page signs you in as the sandbox admin.",
            f"  Redirect URI registered: {LOCAL_REDIRECT_URI}; admin API under {intuit.url}/_sandbox/ "
            "(clock, faults, companies).",
            f"Sandbox Slack Web API: {slack.api_url}",
            f"  Workspace {workspace.name!r} ({workspace.team_id}): {people}; #{CHANNEL_NAME} ({CHANNEL}).",
            "",
            "Point a local `deferredrev serve` at them, in another terminal:",
            "",
            exports,
            '  export DEFERREDREV_ENCRYPTION_KEYS="$(deferredrev keys generate 2>/dev/null)"  # a throwaway key',
            "  deferredrev serve   # SQLite in ./deferredrev.db unless DATABASE_URL says otherwise",
            "",
            "Slack requests to the service must be signed with SLACK_SIGNING_SECRET above. `deferredrev demo` plays the",
            "whole story against fresh sandboxes on its own.",
            "",
            "Ctrl-C stops the sandboxes.",
        ]
    )


def serve_sandboxes(*, intuit_port: int, slack_port: int) -> int:
    try:
        sandboxes = start_sandboxes(intuit_port=intuit_port, slack_port=slack_port)
    except OSError as error:
        print(f"deferredrev sandbox: cannot listen on 127.0.0.1 ({error.strerror or error})", file=sys.stderr)
        print("Choose other ports with --intuit-port and --slack-port.", file=sys.stderr)
        return 1
    try:
        print(instructions(sandboxes), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandboxes.stop()
    return 0
