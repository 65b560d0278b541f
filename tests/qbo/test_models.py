from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.qbo.models import (
    Account,
    BatchItem,
    CompanyInfo,
    JournalEntry,
    JournalEntryLine,
    JournalEntryRequest,
    PostingType,
    Preferences,
    TokenSet,
    amount_problem,
    dumps,
)

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def line(posting: str, account: str, amount: str, name: str | None = None) -> JournalEntryLine:
    return JournalEntryLine(
        posting_type=PostingType(posting), account_id=account, account_name=name, amount=Decimal(amount), description="March"
    )


def request(**overrides: object) -> JournalEntryRequest:
    values: dict[str, object] = {
        "doc_number": "REVREC-2026-03",
        "txn_date": date(2026, 3, 31),
        "private_note": "March recognition",
        "lines": (line("Debit", "92", "1250.00", "Deferred Revenue"), line("Credit", "79", "1250.00", "Services")),
    }
    values.update(overrides)
    return JournalEntryRequest(**values)  # type: ignore[arg-type]


def test_token_set_repr_hides_tokens() -> None:
    tokens = TokenSet(
        access_token="eyJsecret-access-canary",
        refresh_token="RT1-secret-refresh-canary",
        access_expires_at=NOW,
        refresh_expires_at=None,
        realm_id="123",
    )
    for text in (repr(tokens), str(tokens), f"{tokens}", repr([tokens])):
        assert "canary" not in text
    assert "realm_id='123'" in repr(tokens)
    assert tokens.access_expired(NOW)
    assert not tokens.access_expired(NOW - timedelta(minutes=10))
    assert tokens.access_expired(NOW - timedelta(minutes=4), leeway=timedelta(minutes=5))


def test_journal_entry_request_to_api_serialises_decimals_exactly() -> None:
    body = dumps(request().to_api())
    assert b'"Amount":1250.00' in body
    assert json.loads(body) == {
        "TxnDate": "2026-03-31",
        "DocNumber": "REVREC-2026-03",
        "PrivateNote": "March recognition",
        "Line": [
            {
                "Amount": 1250.0,
                "DetailType": "JournalEntryLineDetail",
                "Description": "March",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit",
                    "AccountRef": {"value": "92", "name": "Deferred Revenue"},
                },
            },
            {
                "Amount": 1250.0,
                "DetailType": "JournalEntryLineDetail",
                "Description": "March",
                "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "79", "name": "Services"}},
            },
        ],
    }
    with_currency = json.loads(dumps(request(currency="EUR", doc_number=None, private_note=None).to_api()))
    assert with_currency["CurrencyRef"] == {"value": "EUR"}
    assert "DocNumber" not in with_currency and "PrivateNote" not in with_currency


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99999"), places=5, allow_nan=False, allow_infinity=False))
def test_dumps_never_goes_through_float(amount: Decimal) -> None:
    text = dumps({"Amount": amount}).decode()
    assert Decimal(json.loads(text, parse_float=Decimal)["Amount"]) == amount
    assert text == '{"Amount":' + format(amount, "f") + "}"


def test_dumps_refuses_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        dumps({"Amount": 1.5})
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    assert dumps({"a": [None, True, 3, "é\"'"]}) == b'{"a":[null,true,3,"\\u00e9\\"\'"]}'


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lines": (line("Debit", "92", "10"), line("Credit", "79", "9.99"))}, "balance"),
        ({"lines": (line("Debit", "92", "10"), line("Debit", "79", "10"))}, "one debit and one credit"),
        ({"doc_number": "X" * 22}, "doc_number"),
        ({"doc_number": ""}, "doc_number"),
        ({"private_note": "x" * 4001}, "private_note"),
        ({"currency": "usd"}, "currency"),
    ],
)
def test_journal_entry_request_validates(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request(**overrides)


@pytest.mark.parametrize("amount", ["-1", "1.123456", "NaN", "Infinity", "12345678901"])
def test_line_amount_validation(amount: str) -> None:
    with pytest.raises(ValueError):
        line("Debit", "92", amount)
    with pytest.raises(TypeError):
        JournalEntryLine(posting_type=PostingType.DEBIT, account_id="1", account_name=None, amount=1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "accepted"),
    [
        ("9999999999.5", True),  # rounds half-even to 11 digits: the old check refused it, the preview accepted it
        ("9999999999.50", True),
        ("9999999999.99999", True),
        ("10000000000", False),
        ("10000000000.00", False),
        ("9999999999.999999", False),  # six decimals
        ("0", True),
    ],
)
def test_amount_ceiling_is_ten_integer_digits_compared_exactly(amount: str, accepted: bool) -> None:
    assert (amount_problem(Decimal(amount)) is None) is accepted
    if accepted:
        assert line("Debit", "92", amount).amount == Decimal(amount)
    else:
        with pytest.raises(ValueError, match="too large|decimal places"):
            line("Debit", "92", amount)


def test_journal_entry_from_api() -> None:
    raw = json.loads(
        """{"Id": "231", "SyncToken": "0", "TxnDate": "2026-03-31", "DocNumber": "REVREC-2026-03", "TotalAmt": 1250.10,
        "PrivateNote": "note", "CurrencyRef": {"value": "USD"},
        "Line": [
          {"Id": "0", "Amount": 1250.10, "DetailType": "JournalEntryLineDetail", "Description": "d",
           "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": "92", "name": "Deferred Revenue"}}},
          {"Id": "1", "Amount": 1250.10, "DetailType": "JournalEntryLineDetail",
           "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": "79"}}},
          {"Id": "2", "DetailType": "DescriptionOnly", "Description": "memo"}]}""",
        parse_float=Decimal,
    )
    entry = JournalEntry.from_api(raw)
    assert entry.id == "231" and entry.sync_token == "0" and entry.txn_date == date(2026, 3, 31)
    assert entry.total == Decimal("1250.10")
    assert entry.currency == "USD"
    assert [(x.posting_type, x.account_id, x.account_name, x.amount) for x in entry.lines] == [
        (PostingType.DEBIT, "92", "Deferred Revenue", Decimal("1250.10")),
        (PostingType.CREDIT, "79", None, Decimal("1250.10")),
    ]
    # A float that slipped in (JSON parsed without parse_float) keeps its printed value.
    assert JournalEntry.from_api(dict(raw, TotalAmt=0.1)).total == Decimal("0.1")


def test_account_company_preferences_from_api() -> None:
    account = Account.from_api(
        {
            "Id": "92",
            "Name": "Deferred Revenue",
            "FullyQualifiedName": "Liabilities:Deferred Revenue",
            "AccountType": "Other Current Liability",
            "AccountSubType": "DeferredRevenue",
            "Classification": "Liability",
            "Active": True,
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }
    )
    assert account == Account(
        id="92",
        name="Deferred Revenue",
        fully_qualified_name="Liabilities:Deferred Revenue",
        account_type="Other Current Liability",
        account_sub_type="DeferredRevenue",
        classification="Liability",
        active=True,
        currency="USD",
    )
    company = CompanyInfo.from_api(
        {"CompanyName": "Acme", "LegalName": "Acme Inc", "CompanyAddr": {"Country": "USA"}}, realm_id="1"
    )
    assert (company.company_name, company.country, company.realm_id) == ("Acme", "USA", "1")
    prefs = Preferences.from_api(
        {
            "AccountingInfoPrefs": {"BookCloseDate": "2025-12-31"},
            "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "CAD"}},
            "OtherPrefs": {"NameValue": [{"Name": "WarnDuplicateJournalNumber", "Value": "true"}]},
        }
    )
    assert prefs == Preferences(
        book_close_date=date(2025, 12, 31), multicurrency_enabled=True, home_currency="CAD", warn_duplicate_doc_number=True
    )
    assert Preferences.from_api({}) == Preferences(
        book_close_date=None, multicurrency_enabled=False, home_currency=None, warn_duplicate_doc_number=False
    )


def test_batch_item() -> None:
    assert BatchItem.select("q1", "SELECT * FROM Account").to_api() == {"bId": "q1", "Query": "SELECT * FROM Account"}
    assert BatchItem.create_journal_entry("je1", request()).to_api()["operation"] == "create"
    with pytest.raises(ValueError):
        BatchItem(bid="x")
    with pytest.raises(ValueError):
        BatchItem(bid="", query="q")
