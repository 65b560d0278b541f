from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from deferredrev.sandbox.intuit import RateLimits, SandboxConfig
from deferredrev.services.contracts import import_contracts_csv
from tests.e2e.harness import ADMIN, APPROVER, CONTRACTS, TEAM, Stack, map_accounts, running_stack, scale_for_tests


@pytest.fixture
def stack(database_url: str, now: datetime) -> Iterator[Stack]:
    with running_stack(database_url, now=now) as running:
        yield running


@pytest.fixture
def connected(stack: Stack) -> Stack:
    stack.connect()
    stack.slack.wait_for_dm("U0ADMIN01", contains="Connected to")
    return stack


@pytest.fixture
def ready(database_url: str, now: datetime) -> Iterator[Stack]:
    config = SandboxConfig(rate_limits=RateLimits(time_scale=60))
    with running_stack(database_url, now=now, intuit_config=config) as stack:
        scale_for_tests(stack)
        stack.connect()
        stack.slack.wait_for_dm(ADMIN, contains="Connected to")
        map_accounts(stack)
        import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, text=CONTRACTS, actor=ADMIN)
        stack.server.app.workspaces.update(
            TEAM, user_id=ADMIN, approvers=[ADMIN, APPROVER], four_eyes=True, alert_channel=None,
            posting_mode="per_contract", cutover_date=None,
        )  # fmt: skip
        yield stack
