"""Short-lived signed tickets that carry "team T, user U may start a QuickBooks connect" from a Slack button to our
``/qbo/connect`` page. Signed with a key derived (HKDF) from the primary encryption key, so every replica agrees.

A ticket is a bearer credential, so each one works once: :attr:`ConnectTicket.ticket_id` (a hash of the signed body,
never the ticket itself) is what :class:`services.connections.ConnectionService` records in the database when the
ticket is redeemed. Opening the link only shows a page (the ticket is checked, not used); the page's button redeems
it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TICKET_LIFETIME = timedelta(minutes=10)


class TicketError(Exception):
    """The ticket is forged, damaged or expired."""


@dataclass(frozen=True)
class ConnectTicket:
    team_id: str
    user_id: str
    expires_at: datetime
    ticket_id: str  # SHA-256 of the signed body: unique per issued ticket, safe to store


class TicketSigner:
    def __init__(self, master_key: bytes) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"deferredrev connect ticket v1").derive(
            master_key
        )

    def issue(self, team_id: str, user_id: str, *, now: datetime) -> str:
        payload = {"t": team_id, "u": user_id, "e": int((now + TICKET_LIFETIME).timestamp()), "n": secrets.token_hex(16)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def verify(self, ticket: str, *, now: datetime) -> ConnectTicket:
        body, _, signature = ticket.partition(".")
        try:
            valid = hmac.compare_digest(_unb64(signature), self._mac(body))
            payload = json.loads(_unb64(body)) if valid else None
        except (ValueError, TypeError):
            raise TicketError("the connect link is damaged") from None
        if not valid or not isinstance(payload, dict):
            raise TicketError("the connect link is not valid")
        expires_at = datetime.fromtimestamp(int(payload["e"]), tz=now.tzinfo)
        if expires_at < now:
            raise TicketError("the connect link has expired")
        return ConnectTicket(
            team_id=str(payload["t"]),
            user_id=str(payload["u"]),
            expires_at=expires_at,
            ticket_id=hashlib.sha256(body.encode()).hexdigest(),
        )

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
