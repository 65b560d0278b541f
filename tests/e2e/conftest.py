from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Stack, running_stack


@pytest.fixture
def stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as running:
        yield running


@pytest.fixture
def connected(stack: Stack) -> Stack:
    stack.connect()
    stack.slack.wait_for_dm("U0ADMIN01", contains="Connected to")
    return stack
