"""JournalEntry create / read / update / delete, validation faults, requestid idempotency and batch."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from deferredrev.sandbox.intuit import CLOSED_REALM, MULTICURRENCY_REALM, US_REALM, IntuitSandbox
from tests.sandbox.conftest import Connect, MakeSandbox, api_client

JE_PATH = f"/v3/company/{US_REALM}/journalentry"
DEFERRED_REVENUE, SERVICES = "20", "36"


def account_id(intuit: IntuitSandbox, realm: str, name: str) -> str:
    return intuit.companies[realm].find_account(name).id


def line(amount: Any, posting: str, account: str, **extra: Any) -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": account}},
        **extra,
    }


def entry(amount: Any = 1250, debit: str = DEFERRED_REVENUE, credit: str = SERVICES, **extra: Any) -> dict[str, Any]:
    return {
        "TxnDate": "2026-03-31",
        "DocNumber": "REVREC-2026-03",
        "PrivateNote": "March recognition",
        "Line": [line(amount, "Debit", debit, Description="Recognize March"), line(amount, "Credit", credit)],
        **extra,
    }


def error_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Fault"]["type"] and "time" in body
    error: dict[str, Any] = body["Fault"]["Error"][0]
    assert isinstance(error["code"], str)
    return error


def test_seeded_ids_used_here(intuit: IntuitSandbox) -> None:
    assert account_id(intuit, US_REALM, "Deferred Revenue") == DEFERRED_REVENUE
    assert account_id(intuit, US_REALM, "Services") == SERVICES


def test_create_read_and_what_reached_qbo(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    response = qbo_api.post(JE_PATH, json=entry())

    assert response.status_code == 200
    body = response.json()
    created = body["JournalEntry"]
    assert body["time"].endswith("-07:00")
    assert created["Id"] == "1" and created["SyncToken"] == "0" and created["TotalAmt"] == 1250
    assert [ln["Id"] for ln in created["Line"]] == ["0", "1"]
    assert created["Line"][0]["Description"] == "Recognize March"
    assert created["Line"][1]["JournalEntryLineDetail"]["AccountRef"] == {"value": SERVICES, "name": "Services"}
    assert created["MetaData"]["CreateTime"] == "2026-04-01T09:00:00-07:00"
    assert qbo_api.get(f"{JE_PATH}/1").json()["JournalEntry"] == created
    assert intuit.journal_entries(US_REALM) == [created]
    assert intuit.companies[US_REALM].accounts[SERVICES].balance == 1250


def test_python_quickbooks_payload_quirks_are_accepted(qbo_api: httpx.Client) -> None:
    payload = entry(
        DocNumber="",
        PrivateNote="",
        TxnDate="",
        ExchangeRate=1,
        TotalAmt=0,
        SyncToken=0,
        sparse=False,
        domain="QBO",
        Adjustment=False,
    )
    for item in payload["Line"]:
        item.update({"LineNum": 0, "LinkedTxn": [], "CustomField": []})
        item["JournalEntryLineDetail"].update({"TaxApplicableOn": "Sales", "TaxAmount": 0})
        item["JournalEntryLineDetail"]["AccountRef"]["type"] = ""

    created = qbo_api.post(JE_PATH, json=payload).json()["JournalEntry"]

    assert created["TxnDate"] == "2026-04-01" and "DocNumber" not in created and "PrivateNote" not in created


def test_amounts_as_strings_and_decimals(qbo_api: httpx.Client) -> None:
    created = qbo_api.post(JE_PATH, json=entry("100.10")).json()["JournalEntry"]
    assert created["TotalAmt"] == 100.1

    error = error_of(qbo_api.post(JE_PATH, json=entry(0.1 + 0.2)))
    assert error["code"] == "2060"
    assert error_of(qbo_api.post(JE_PATH, json=entry("12abc")))["code"] == "2060"


def test_unbalanced_entry_is_6000_naming_the_difference(qbo_api: httpx.Client) -> None:
    payload = entry()
    payload["Line"][1]["Amount"] = 1200

    error = error_of(qbo_api.post(JE_PATH, json=payload))

    assert error["code"] == "6000"
    assert error["Message"] == "A business validation error has occurred while processing your request"
    assert "1250.00" in error["Detail"] and "1200.00" in error["Detail"] and "50.00" in error["Detail"]


def test_imbalance_code_is_configurable(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(imbalance_code="6430")
    payload = entry()
    payload["Line"][1]["Amount"] = 1
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        assert error_of(client.post(JE_PATH, json=payload))["code"] == "6430"


def test_needs_a_debit_and_a_credit_line(qbo_api: httpx.Client) -> None:
    payload = entry()
    payload["Line"] = [line(10, "Debit", DEFERRED_REVENUE), line(-10, "Debit", SERVICES)]
    assert error_of(qbo_api.post(JE_PATH, json=payload))["code"] == "6000"

    payload["Line"] = [line(0, "Debit", DEFERRED_REVENUE)]
    assert error_of(qbo_api.post(JE_PATH, json=payload))["code"] == "6000"


def test_missing_and_inactive_accounts(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    missing = error_of(qbo_api.post(JE_PATH, json=entry(credit="99999")))
    assert missing["code"] == "2500" and "99999" in missing["Detail"]

    intuit.deactivate_account(US_REALM, SERVICES)
    inactive = error_of(qbo_api.post(JE_PATH, json=entry()))
    assert inactive["code"] == "610" and "made inactive" in inactive["Detail"]


def test_closed_books_is_6210_with_the_exact_message(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    deferred = account_id(intuit, CLOSED_REALM, "Deferred Revenue")
    services = account_id(intuit, CLOSED_REALM, "Services")
    path = f"/v3/company/{CLOSED_REALM}/journalentry"
    with api_client(intuit, connect_intuit(intuit, CLOSED_REALM)["access_token"]) as client:
        error = error_of(client.post(path, json=entry(debit=deferred, credit=services, TxnDate="2025-12-31")))
        open_period = client.post(path, json=entry(debit=deferred, credit=services, TxnDate="2026-01-01"))
        intuit.set_book_close_date(CLOSED_REALM, date(2026, 1, 31))
        created = open_period.json()["JournalEntry"]
        blocked_delete = client.post(path, params={"operation": "delete"}, json={"Id": created["Id"], "SyncToken": "0"})

    assert error["code"] == "6210"
    assert error["Message"] == "Account Period Closed, Cannot Update Through Services API"
    assert error["Detail"] == (
        "The account period has closed and the account books cannot be updated through the QBO Services API. "
        "Please use the QBO website to make these changes."
    )
    assert open_period.status_code == 200
    assert error_of(blocked_delete)["code"] == "6210"


@pytest.mark.parametrize(
    ("field", "limit"),
    [("DocNumber", 21), ("PrivateNote", 4000)],
)
def test_header_string_limits(qbo_api: httpx.Client, field: str, limit: int) -> None:
    assert qbo_api.post(JE_PATH, json=entry(**{field: "x" * limit}), params={"include": "allowduplicatedocnum"}).is_success
    error = error_of(qbo_api.post(JE_PATH, json=entry(**{field: "x" * (limit + 1)})))
    assert error["code"] == "2050" and error["element"] == field


def test_line_description_limit(qbo_api: httpx.Client) -> None:
    payload = entry()
    payload["Line"][0]["Description"] = "d" * 4001

    assert error_of(qbo_api.post(JE_PATH, json=payload))["code"] == "2050"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update({"Colour": "red"}),
        lambda p: p["Line"][0].update({"AccountRef": {"value": "1"}}),
        lambda p: p["Line"][0]["JournalEntryLineDetail"].update({"Description": "wrong place"}),
    ],
)
def test_unknown_properties_are_2010(qbo_api: httpx.Client, mutate: Any) -> None:
    payload = entry()
    mutate(payload)

    error = error_of(qbo_api.post(JE_PATH, json=payload))

    assert error["code"] == "2010" and "Unrecognized field" in error["Detail"]


@pytest.mark.parametrize(
    ("detail_update", "code"),
    [({"BillableStatus": ""}, "2170"), ({"PostingType": "Sideways"}, "2170"), ({"AccountRef": None}, "2020")],
)
def test_enum_and_required_fields(qbo_api: httpx.Client, detail_update: dict[str, Any], code: str) -> None:
    payload = entry()
    payload["Line"][0]["JournalEntryLineDetail"].update(detail_update)

    assert error_of(qbo_api.post(JE_PATH, json=payload))["code"] == code


def test_missing_lines_is_2020(qbo_api: httpx.Client) -> None:
    assert error_of(qbo_api.post(JE_PATH, json={"TxnDate": "2026-03-31"}))["code"] == "2020"


def test_receivable_line_needs_a_customer(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    receivable = account_id(intuit, US_REALM, "Accounts Receivable (A/R)")
    assert error_of(qbo_api.post(JE_PATH, json=entry(debit=receivable)))["code"] == "6000"

    payload = entry(debit=receivable)
    customer = {"Type": "Customer", "EntityRef": {"value": "1", "name": "Amy's Bird Sanctuary"}}
    payload["Line"][0]["JournalEntryLineDetail"]["Entity"] = customer
    assert qbo_api.post(JE_PATH, json=payload).status_code == 200


def test_id_on_create_is_610(qbo_api: httpx.Client) -> None:
    error = error_of(qbo_api.post(JE_PATH, json=entry(Id="4242", SyncToken="0")))

    assert error["code"] == "610" and "Another user has deleted this transaction." in error["Detail"]


def test_duplicate_doc_number_only_when_the_preference_is_on(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    assert qbo_api.post(JE_PATH, json=entry()).status_code == 200

    duplicate = error_of(qbo_api.post(JE_PATH, json=entry()))
    assert duplicate["code"] == "6140" and "DocNumber=REVREC-2026-03" in duplicate["Detail"]
    assert qbo_api.post(JE_PATH, json=entry(), params={"include": "allowduplicatedocnum"}).status_code == 200

    intuit.set_preferences(US_REALM, warn_duplicate_doc_number=False)
    assert qbo_api.post(JE_PATH, json=entry()).status_code == 200
    prefs = qbo_api.get(f"/v3/company/{US_REALM}/preferences").json()["Preferences"]
    assert prefs["OtherPrefs"]["NameValue"] == [{"Name": "WarnDuplicateJournalNumber", "Value": "false"}]


def test_update_checks_the_sync_token_and_delete_hides_the_entry(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    created = qbo_api.post(JE_PATH, json=entry()).json()["JournalEntry"]
    sparse = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"}

    updated = qbo_api.post(JE_PATH, json=sparse).json()["JournalEntry"]
    stale = qbo_api.post(JE_PATH, json=sparse)
    deleted = qbo_api.post(JE_PATH, params={"operation": "delete"}, json={"Id": created["Id"], "SyncToken": "1"})

    assert updated["SyncToken"] == "1" and updated["PrivateNote"] == "edited" and updated["Line"] == created["Line"]
    assert error_of(stale)["code"] == "5010"
    assert deleted.json()["JournalEntry"] == {"status": "Deleted", "domain": "QBO", "Id": created["Id"]}
    assert error_of(qbo_api.get(f"{JE_PATH}/{created['Id']}"))["code"] == "610"
    query = qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": "SELECT * FROM JournalEntry"})
    assert query.json()["QueryResponse"] == {}
    assert intuit.journal_entries(US_REALM) == []
    assert intuit.companies[US_REALM].accounts[SERVICES].balance == 0


def test_full_update_replaces_writable_fields(qbo_api: httpx.Client) -> None:
    created = qbo_api.post(JE_PATH, json=entry()).json()["JournalEntry"]
    full = entry(500, Id=created["Id"], SyncToken="0")
    del full["PrivateNote"]

    updated = qbo_api.post(JE_PATH, json=full).json()["JournalEntry"]

    assert updated["TotalAmt"] == 500 and "PrivateNote" not in updated


def test_find_by_doc_number_with_quotes(qbo_api: httpx.Client) -> None:
    qbo_api.post(JE_PATH, json=entry(DocNumber="O'BRIEN-1"))

    text = r"SELECT * FROM JournalEntry WHERE DocNumber = 'O\'BRIEN-1' AND TxnDate >= '2026-03-01'"
    found = qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": text}).json()["QueryResponse"]

    assert [je["DocNumber"] for je in found["JournalEntry"]] == ["O'BRIEN-1"]


def test_multicurrency_requires_currency_ref(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    company = intuit.companies[MULTICURRENCY_REALM]
    eur_deferred = company.find_account("Deferred Revenue EUR").id
    eur_revenue = company.find_account("Subscription Revenue EUR").id
    path = f"/v3/company/{MULTICURRENCY_REALM}/journalentry"
    with api_client(intuit, connect_intuit(intuit, MULTICURRENCY_REALM)["access_token"]) as client:
        missing = client.post(path, json=entry(debit=eur_deferred, credit=eur_revenue))
        created = client.post(
            path, json=entry(debit=eur_deferred, credit=eur_revenue, CurrencyRef={"value": "EUR"}, ExchangeRate="1.0850")
        )

    assert error_of(missing)["code"] == "2020"
    body = created.json()["JournalEntry"]
    assert body["CurrencyRef"] == {"value": "EUR", "name": "Euro"} and body["HomeTotalAmt"] == 1356.25


def test_requestid_replays_without_a_second_entry(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    request_id = str(uuid.uuid4())

    first = qbo_api.post(JE_PATH, json=entry(), params={"requestid": request_id})
    second = qbo_api.post(JE_PATH, json=entry(), params={"requestid": request_id})
    changed = qbo_api.post(JE_PATH, json=entry(500), params={"requestid": request_id})

    assert first.status_code == second.status_code == changed.status_code == 200
    assert first.content == second.content == changed.content
    assert len(intuit.journal_entries(US_REALM)) == 1


def test_requestid_is_scoped_per_realm_and_limited_to_50_chars(qbo_api: httpx.Client) -> None:
    assert error_of(qbo_api.post(JE_PATH, json=entry(), params={"requestid": "r" * 51}))["code"] == "2050"
    assert qbo_api.post(JE_PATH, json=entry(), params={"requestid": "r" * 50}).status_code == 200


def test_requestid_conflict_can_be_an_error(make_intuit: MakeSandbox, connect_intuit: Connect) -> None:
    sb = make_intuit(requestid_conflict="error")
    with api_client(sb, connect_intuit(sb)["access_token"]) as client:
        assert client.post(JE_PATH, json=entry(), params={"requestid": "abc"}).status_code == 200
        assert client.post(JE_PATH, json=entry(), params={"requestid": "abc"}).status_code == 200
        assert error_of(client.post(JE_PATH, json=entry(7), params={"requestid": "abc"}))["code"] == "600"


def test_validation_faults_are_replayed_too(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    bad = entry(credit="99999")
    first = qbo_api.post(JE_PATH, json=bad, params={"requestid": "bad-1"})
    second = qbo_api.post(JE_PATH, json=entry(), params={"requestid": "bad-1"})

    assert first.content == second.content and second.status_code == 400
    assert intuit.journal_entries(US_REALM) == []


@pytest.fixture
def batch_items() -> Iterator[list[dict[str, Any]]]:
    unbalanced = entry(DocNumber="B-2")
    unbalanced["Line"][1]["Amount"] = 1
    yield [
        {"bId": "je-1", "operation": "create", "JournalEntry": entry(DocNumber="B-1")},
        {"bId": "je-2", "operation": "create", "JournalEntry": unbalanced},
        {"bId": "q-1", "Query": "SELECT * FROM JournalEntry WHERE DocNumber = 'B-1'"},
        {"bId": "q-2", "Query": "SELECT * FROM Account WHERE Nope = 'x'"},
    ]


def test_batch_with_per_item_faults(intuit: IntuitSandbox, qbo_api: httpx.Client, batch_items: list[dict[str, Any]]) -> None:
    response = qbo_api.post(f"/v3/company/{US_REALM}/batch", json={"BatchItemRequest": batch_items})

    assert response.status_code == 200
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["je-1"]["JournalEntry"]["DocNumber"] == "B-1"
    assert items["je-2"]["Fault"]["type"] == "ValidationFault" and items["je-2"]["Fault"]["Error"][0]["code"] == "6000"
    # Items can't see each other's results: the query ran after je-1 here, but either answer is legal for QBO.
    assert items["q-1"]["QueryResponse"]["maxResults"] == 1
    assert items["q-2"]["Fault"]["Error"][0]["code"] == "4001"
    assert "time" in response.json()
    assert [je["DocNumber"] for je in intuit.journal_entries(US_REALM)] == ["B-1"]


def test_batch_requestid_replay_and_limits(
    intuit: IntuitSandbox, qbo_api: httpx.Client, batch_items: list[dict[str, Any]]
) -> None:
    path = f"/v3/company/{US_REALM}/batch"
    first = qbo_api.post(path, json={"BatchItemRequest": batch_items}, params={"requestid": "b" * 36})
    second = qbo_api.post(path, json={"BatchItemRequest": batch_items}, params={"requestid": "b" * 36})
    too_long = qbo_api.post(path, json={"BatchItemRequest": batch_items}, params={"requestid": "b" * 37})
    too_many = [copy.deepcopy(batch_items[2]) | {"bId": f"q{i}"} for i in range(31)]

    assert first.content == second.content and len(intuit.journal_entries(US_REALM)) == 1
    assert error_of(too_long)["code"] == "2050"
    assert error_of(qbo_api.post(path, json={"BatchItemRequest": too_many}))["code"] == "1040"
    assert error_of(qbo_api.post(path, json={"BatchItemRequest": [{"Query": "SELECT * FROM Account"}]}))["code"] == "2020"


def test_batch_delete_item(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    created = qbo_api.post(JE_PATH, json=entry()).json()["JournalEntry"]
    items = [{"bId": "d", "operation": "delete", "JournalEntry": {"Id": created["Id"], "SyncToken": "0"}}]

    response = qbo_api.post(f"/v3/company/{US_REALM}/batch", json={"BatchItemRequest": items})

    assert response.json()["BatchItemResponse"][0]["JournalEntry"]["status"] == "Deleted"
    assert intuit.journal_entries(US_REALM) == []
