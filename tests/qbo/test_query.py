from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.qbo import query as q

NASTY = st.text(alphabet=st.one_of(st.sampled_from("'\\%_\" ;-)(\n"), st.characters()), max_size=40)


def read_literal(text: str, start: int = 0) -> tuple[str, int]:
    """A reference reader for a QuickBooks string literal at ``text[start]``: ``'...'`` where a backslash makes
    the next character literal. Returns the value and the index just past the closing quote."""
    if text[start] != "'":
        raise ValueError("not a literal")
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                raise ValueError("dangling escape")
            out.append(text[i + 1])
            i += 2
        elif char == "'":
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise ValueError("unterminated literal")


@given(NASTY)
def test_quote_round_trips_and_ends_exactly_at_the_end(value: str) -> None:
    literal = q.quote(value)
    assert read_literal(literal) == (value, len(literal))


@given(NASTY, NASTY)
def test_a_value_cannot_escape_its_literal(value: str, other: str) -> None:
    sql = f"SELECT * FROM JournalEntry WHERE DocNumber = {q.quote(value)} AND PrivateNote = {q.quote(other)}"
    head = "SELECT * FROM JournalEntry WHERE DocNumber = "
    first, end = read_literal(sql, len(head))
    assert first == value
    middle = " AND PrivateNote = "
    assert sql[end : end + len(middle)] == middle
    second, end = read_literal(sql, end + len(middle))
    assert (second, end) == (other, len(sql))


@given(NASTY)
def test_like_prefix_matches_a_superset_then_filter_is_exact(prefix: str) -> None:
    pattern = q.like_prefix(prefix)
    literal = prefix.split("%", 1)[0]
    if not literal:
        assert pattern is None
        return
    assert pattern is not None
    value, end = read_literal(pattern)
    assert end == len(pattern)
    assert value == literal + "%"
    assert value.count("%") == 1  # the only wildcard is the one we add
    assert prefix.startswith(value[:-1])


@given(NASTY)
def test_select_accounts_with_any_prefix_keeps_the_query_shape(prefix: str) -> None:
    sql = q.select_accounts(name_prefix=prefix, types=["Income"])
    assert sql.startswith("SELECT * FROM Account WHERE Active = true AND AccountType IN ('Income')")
    assert sql.endswith(" STARTPOSITION 1 MAXRESULTS 1000")
    pattern = q.like_prefix(prefix)
    if pattern is not None:
        head = "SELECT * FROM Account WHERE Active = true AND AccountType IN ('Income') AND Name LIKE "
        assert sql.startswith(head)
        _, end = read_literal(sql, len(head))
        assert sql[end:] == " STARTPOSITION 1 MAXRESULTS 1000"


def test_quote_examples() -> None:
    assert q.quote("Adam's Candy Shop") == r"'Adam\'s Candy Shop'"
    assert q.quote("back\\slash") == r"'back\\slash'"
    assert q.quote("ends with \\") == r"'ends with \\'"
    assert q.quote("") == "''"
    with pytest.raises(TypeError):
        q.quote(5)  # type: ignore[arg-type]


def test_select_accounts_examples() -> None:
    assert q.select_accounts() == "SELECT * FROM Account WHERE Active = true STARTPOSITION 1 MAXRESULTS 1000"
    assert q.select_accounts(active=None, start=1001, max_results=50) == (
        "SELECT * FROM Account WHERE Active IN (true, false) STARTPOSITION 1001 MAXRESULTS 50"
    )
    assert q.select_accounts(types=["Other Current Liability", "Income"], name_prefix="Def", active=False) == (
        "SELECT * FROM Account WHERE Active = false AND AccountType IN ('Income', 'Other Current Liability') "
        "AND Name LIKE 'Def%' STARTPOSITION 1 MAXRESULTS 1000"
    )
    assert q.select_accounts(name_prefix="100% Rev") == (
        "SELECT * FROM Account WHERE Active = true AND Name LIKE '100%' STARTPOSITION 1 MAXRESULTS 1000"
    )
    assert q.select_accounts(name_prefix="%") == "SELECT * FROM Account WHERE Active = true STARTPOSITION 1 MAXRESULTS 1000"
    assert "ORDERBY Name DESC" in q.select_accounts(order_by="Name desc")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": 0},
        {"max_results": 0},
        {"max_results": 1001},
        {"types": []},
        {"types": ["Income'; DROP"]},
        {"order_by": "Name; DROP"},
        {"order_by": "Name SIDEWAYS"},
    ],
)
def test_select_accounts_rejects(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        q.select_accounts(**kwargs)  # type: ignore[arg-type]


def test_counts_and_doc_number() -> None:
    assert (
        q.count_accounts(types=["Income"])
        == "SELECT count(*) FROM Account WHERE Active = true AND AccountType IN ('Income')"
    )
    assert q.select_journal_entry_by_doc_number("REV'1") == (
        r"SELECT * FROM JournalEntry WHERE DocNumber = 'REV\'1' MAXRESULTS 1000"
    )
    assert q.count_journal_entries_by_doc_number("X") == "SELECT count(*) FROM JournalEntry WHERE DocNumber = 'X'"


def test_matches_prefix() -> None:
    assert q.matches_prefix("100% Revenue", "100% r")
    assert not q.matches_prefix("100 Revenue", "100% r")
    assert q.matches_prefix("anything", None)
    assert q.matches_prefix("anything", "")
