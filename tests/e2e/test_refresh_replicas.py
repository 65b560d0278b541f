"""Two service processes share one database and run the refresh job for hours of sandbox time: each due refresh
calls Intuit's token endpoint exactly once, nothing gets invalid_grant, and the stored token is always the newest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from deferredrev.clock import ManualClock
from deferredrev.demo.stack import intuit_env
from deferredrev.logs import SecretRegistry
from deferredrev.qbo.oauth import IntuitEndpoints, IntuitOAuth
from deferredrev.runtime import build_runtime
from deferredrev.sandbox.intuit import AutoConsent, IntuitSandbox, RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.seed import BIG_REALM, CLOSED_REALM, US_REALM
from deferredrev.services.qbo_access import to_new_tokens
from deferredrev.settings import Plan, Settings
from deferredrev.storage.models import QboConnection
from deferredrev.storage.repositories import get_or_create_workspace
from tests.conftest import key_env, make_key

REDIRECT = "http://127.0.0.1:9/qbo/callback"
SANDBOX_HOURS = 3
STEP = timedelta(minutes=2)


def connect_directly(intuit: IntuitSandbox, oauth: IntuitOAuth, realm: str):  # type: ignore[no-untyped-def]
    intuit.auto_consent = AutoConsent(realm_id=realm)
    redirect = httpx.get(oauth.authorization_url("state-x"), follow_redirects=False).headers["location"]
    code = httpx.QueryParams(httpx.URL(redirect).query).get("code")
    return oauth.exchange_code(code, realm)


def sandbox_oauth(intuit: IntuitSandbox, http: httpx.Client, clock: ManualClock) -> IntuitOAuth:
    endpoints = IntuitEndpoints.for_environment(
        "sandbox",
        authorize_url=intuit.authorize_url,
        token_url=intuit.token_url,
        revoke_url=intuit.revoke_url,
        api_base=intuit.api_url,
    )
    return IntuitOAuth(
        http=http, endpoints=endpoints, client_id=intuit.client_id, client_secret=intuit.client_secret,
        redirect_uri=REDIRECT, clock=clock,
    )  # fmt: skip


def sweeps_so_far(folder: Path) -> dict[str, int]:
    return {p.name: int(p.read_text() or 0) for p in folder.glob("sweeps-*")}


def wait_for_sweeps(folder: Path, workers: int, *, beyond: dict[str, int], timeout: float = 10.0) -> None:
    """Until every worker has swept twice more than ``beyond`` (so a whole sweep began after the clock moved)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = sweeps_so_far(folder)
        if len(now) == workers and all(count >= beyond.get(name, 0) + 2 for name, count in now.items()):
            return
        time.sleep(0.01)


@pytest.mark.postgres
def test_two_processes_refresh_each_connection_once_per_due_time(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    config = SandboxConfig(redirect_uris=(REDIRECT,), rate_limits=RateLimits(enabled=False))
    with IntuitSandbox(config=config, clock=clock) as intuit:
        env = {
            "DATABASE_URL": database_url,
            "DEFERREDREV_ENCRYPTION_KEYS": key_env(make_key("rep", fill=3)),
            **intuit_env(intuit),
            "QBO_REDIRECT_URI": REDIRECT,
            "SLACK_BOT_TOKEN": "xoxb-unused",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        }
        settings = Settings.from_env(env)
        runtime = build_runtime(settings, secrets=SecretRegistry(), clock=clock, migrate=True)
        with httpx.Client() as http:
            oauth = sandbox_oauth(intuit, http, clock)
            teams = {"T0REP0001": US_REALM, "T0REP0002": BIG_REALM, "T0REP0003": CLOSED_REALM}
            now = clock.now()
            for team, realm in teams.items():
                tokens = connect_directly(intuit, oauth, realm)
                with runtime.sessions.begin() as session:
                    get_or_create_workspace(session, team, default_plan=Plan.GROWTH, now=now)
                    connection = QboConnection(team_id=team, realm_id=realm, status="connected", version=0)
                    session.add(connection)
                    runtime.tokens.seal(connection, to_new_tokens(tokens), now=now)
        stop = tmp_path / "stop"
        worker_env = {**os.environ, **env, "SANDBOX_URL": intuit.url}
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.refresh_worker", str(stop)],
                env=worker_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[2],
            )
            for _ in range(2)
        ]
        try:
            wait_for_sweeps(tmp_path, len(workers), beyond={}, timeout=60)  # both have started and are sweeping
            for _ in range(int(timedelta(hours=SANDBOX_HOURS) / STEP)):
                before = sweeps_so_far(tmp_path)
                clock.advance(STEP)
                time.sleep(0.08)
                # However loaded the machine, each worker sweeps at each sandbox time, so no due time is skipped.
                wait_for_sweeps(tmp_path, len(workers), beyond=before)
            time.sleep(1.0)
        finally:
            stop.touch()
            outputs = [worker.communicate(timeout=60) for worker in workers]
        assert all(worker.returncode == 0 for worker in workers), [err[-3000:] for _, err in outputs]
        reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
        assert all(report["sweeps"] > 50 for report in reports), reports

        refreshes = intuit.token_endpoint_calls.count("refresh_token")
        assert intuit.requests.count(path_contains="/tokens/bearer", status=400) == 0  # no invalid_grant, ever
        with runtime.sessions() as session:
            connections = session.scalars(select(QboConnection)).all()
            versions = {c.team_id: c.version for c in connections}
            stored = {c.team_id: runtime.tokens.open(c) for c in connections}
        # One refresh per connection per hour of sandbox time (each access token lives an hour), no more.
        assert refreshes == len(teams) * SANDBOX_HOURS, (refreshes, versions, reports)
        assert sum(r["refreshed"] for r in reports) == refreshes
        assert all(version == 1 + SANDBOX_HOURS for version in versions.values()), versions
        # The stored refresh token is the newest: refreshing with it now works.
        with httpx.Client() as http:
            oauth = sandbox_oauth(intuit, http, clock)
            for tokens in stored.values():
                assert tokens is not None
                oauth.refresh(tokens.refresh_token)
        runtime.close()
