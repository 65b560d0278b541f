"""Query strings for QuickBooks' SQL-like query language, built from values that are always escaped.

Pure functions, no I/O. Every value enters a query through :func:`quote`, which wraps it in single quotes and
backslash-escapes the two characters that mean something inside a literal: ``\\`` and ``'`` (Intuit documents
``'Adam\\'s Candy Shop'``; the backslash itself must be escaped too, or a value ending in ``\\`` would escape the
closing quote).

LIKE patterns. ``%`` is the only wildcard QuickBooks knows, and it has no documented escape. So a ``%`` typed by
a user cannot be matched literally: :func:`like_prefix` cuts the prefix at the first ``%`` and the query matches
a *superset* of the wanted rows; callers then keep only rows for which :func:`matches_prefix` is true (the client
does this in ``QboClient.accounts``). ``_`` is not a wildcard in QuickBooks and passes through as itself.
Matching in QuickBooks is case-insensitive, and so is :func:`matches_prefix`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ACCOUNT_TYPES",
    "MAX_RESULTS",
    "count_accounts",
    "count_journal_entries_by_doc_number",
    "like_prefix",
    "matches_prefix",
    "quote",
    "select_accounts",
    "select_attachables_for",
    "select_journal_entry_by_doc_number",
]

MAX_RESULTS = 1000

ACCOUNT_TYPES = frozenset(
    {
        "Bank",
        "Accounts Receivable",
        "Other Current Asset",
        "Fixed Asset",
        "Other Asset",
        "Accounts Payable",
        "Credit Card",
        "Other Current Liability",
        "Long Term Liability",
        "Equity",
        "Income",
        "Cost of Goods Sold",
        "Expense",
        "Other Income",
        "Other Expense",
    }
)


def quote(value: str) -> str:
    """``value`` as a single-quoted QuickBooks string literal that ends exactly where it should."""
    if not isinstance(value, str):
        raise TypeError(f"query values must be str, not {type(value).__name__}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def like_prefix(prefix: str) -> str | None:
    """A quoted LIKE pattern matching names that start with ``prefix`` — or more, when ``prefix`` holds a ``%``
    (see the module docstring). ``None`` when nothing is left to filter on."""
    literal = prefix.split("%", 1)[0]
    if not literal:
        return None
    return quote(literal + "%")


def matches_prefix(name: str, prefix: str | None) -> bool:
    """Whether ``name`` starts with ``prefix`` the way QuickBooks compares (case-insensitively)."""
    return not prefix or name.casefold().startswith(prefix.casefold())


def _account_where(types: Iterable[str] | None, name_prefix: str | None, active: bool | None) -> str:
    clauses: list[str] = []
    if active is None:
        clauses.append("Active IN (true, false)")
    else:
        clauses.append(f"Active = {'true' if active else 'false'}")
    if types is not None:
        wanted = sorted(set(types))
        if not wanted:
            raise ValueError("types must name at least one account type (or be None for all)")
        unknown = [t for t in wanted if t not in ACCOUNT_TYPES]
        if unknown:
            raise ValueError(f"unknown account type(s): {', '.join(unknown)}")
        clauses.append(f"AccountType IN ({', '.join(quote(t) for t in wanted)})")
    if name_prefix:
        pattern = like_prefix(name_prefix)
        if pattern is not None:
            clauses.append(f"Name LIKE {pattern}")
    return " AND ".join(clauses)


def select_accounts(
    *,
    types: Iterable[str] | None = None,
    name_prefix: str | None = None,
    active: bool | None = True,
    start: int = 1,
    max_results: int = MAX_RESULTS,
    order_by: str | None = None,
) -> str:
    """One page of accounts. ``active=None`` includes inactive ones; ``start`` is 1-based; ``order_by`` is a
    property name (e.g. ``"Name"``), optionally followed by ``ASC``/``DESC``."""
    if start < 1:
        raise ValueError("start is 1-based")
    if not 1 <= max_results <= MAX_RESULTS:
        raise ValueError(f"max_results must be between 1 and {MAX_RESULTS}")
    sql = f"SELECT * FROM Account WHERE {_account_where(types, name_prefix, active)}"
    if order_by is not None:
        sql += f" ORDERBY {_order_by(order_by)}"
    return f"{sql} STARTPOSITION {start} MAXRESULTS {max_results}"


def count_accounts(*, types: Iterable[str] | None = None, name_prefix: str | None = None, active: bool | None = True) -> str:
    """How many accounts :func:`select_accounts` would page through."""
    return f"SELECT count(*) FROM Account WHERE {_account_where(types, name_prefix, active)}"


def select_journal_entry_by_doc_number(doc_number: str) -> str:
    """Journal entries whose DocNumber is exactly ``doc_number`` (QuickBooks may hold several)."""
    return f"SELECT * FROM JournalEntry WHERE DocNumber = {quote(doc_number)} MAXRESULTS {MAX_RESULTS}"


def select_attachables_for(entity_type: str, entity_id: str) -> str:
    """The attachments linked to one transaction (``entity_type`` e.g. ``JournalEntry``), reference §10.1."""
    return (
        f"SELECT * FROM Attachable WHERE AttachableRef.EntityRef.Type = {quote(entity_type)} "
        f"AND AttachableRef.EntityRef.value = {quote(entity_id)} MAXRESULTS {MAX_RESULTS}"
    )


def count_journal_entries_by_doc_number(doc_number: str) -> str:
    return f"SELECT count(*) FROM JournalEntry WHERE DocNumber = {quote(doc_number)}"


def _order_by(order_by: str) -> str:
    parts = order_by.split()
    if not parts or len(parts) > 2 or not (parts[0].isascii() and parts[0].replace(".", "").isalnum()):
        raise ValueError(f"order_by must be a property name, optionally with ASC or DESC: {order_by!r}")
    if len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"):
        raise ValueError(f"order_by direction must be ASC or DESC: {order_by!r}")
    return " ".join(parts[:1] + [p.upper() for p in parts[1:]])
