"""`deferredrev sandbox`: serve the sandbox Intuit and Slack stand-ins for manual trials."""

from __future__ import annotations

import threading


def serve_sandboxes(*, intuit_port: int, slack_port: int) -> int:
    from deferredrev.sandbox.intuit import IntuitSandbox
    from deferredrev.sandbox.slack import SlackSandbox

    intuit = IntuitSandbox(port=intuit_port).start()
    slack = SlackSandbox(signing_secret="sandbox-signing-secret", port=slack_port).start()
    print(f"Sandbox Intuit: {intuit.url} (client id {intuit.client_id})")
    print(f"Sandbox Slack Web API: {slack.api_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        intuit.stop()
        slack.stop()
    return 0
