from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deferredrev.services.tickets import TicketError, TicketSigner

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_ticket_round_trip() -> None:
    signer = TicketSigner(b"k" * 32)
    ticket = signer.issue("T1", "U1", now=NOW)
    verified = signer.verify(ticket, now=NOW + timedelta(minutes=9))
    assert (verified.team_id, verified.user_id) == ("T1", "U1")


def test_expired_forged_and_foreign_tickets_are_refused() -> None:
    signer = TicketSigner(b"k" * 32)
    ticket = signer.issue("T1", "U1", now=NOW)
    with pytest.raises(TicketError, match="expired"):
        signer.verify(ticket, now=NOW + timedelta(minutes=11))
    body, _, signature = ticket.partition(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for bad in (f"{forged_body}.{signature}", "garbage", "", f"{body}.", "a.b.c"):
        with pytest.raises(TicketError):
            signer.verify(bad, now=NOW)
    with pytest.raises(TicketError):
        TicketSigner(b"x" * 32).verify(ticket, now=NOW)


def test_each_ticket_has_its_own_storable_id() -> None:
    signer = TicketSigner(b"k" * 32)
    first, second = signer.issue("T1", "U1", now=NOW), signer.issue("T1", "U1", now=NOW)
    verified = signer.verify(first, now=NOW)
    assert verified.ticket_id == signer.verify(first, now=NOW + timedelta(minutes=5)).ticket_id
    assert verified.ticket_id != signer.verify(second, now=NOW).ticket_id
    assert len(verified.ticket_id) == 64 and verified.ticket_id not in first  # a hash, never the ticket itself
