"""Slots for QuickBooks calls, per company and kind of call, shared by every process through the database."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError

from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import QboPacing


class CallSlots:
    def __init__(self, sessions: SessionFactory, now: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._now = now

    def reserve(self, realm_id: str, kind: str, interval: float) -> float:
        """The epoch second at which this caller may make its call: the first free slot, at least ``interval`` after
        the slot before it, whichever process took that one. One atomic UPDATE, so two replicas never share a slot."""
        now = self._now()
        for _ in range(2):
            with self._sessions.begin() as session:
                taken = session.execute(
                    update(QboPacing)
                    .where(QboPacing.realm_id == realm_id, QboPacing.kind == kind)
                    .values(next_at=case((QboPacing.next_at > now, QboPacing.next_at), else_=now) + interval)
                    .returning(QboPacing.next_at)
                    .execution_options(synchronize_session=False)
                ).scalar_one_or_none()
            if taken is not None:
                return float(taken) - interval
            try:
                with self._sessions.begin() as session:
                    session.add(QboPacing(realm_id=realm_id, kind=kind, next_at=now))
            except IntegrityError:
                pass  # another process made the row first: take a slot from it
        raise RuntimeError(f"no pacing row for {realm_id}/{kind}")
