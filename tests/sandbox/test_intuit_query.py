"""The query language subset: escaping, operators, paging, count(*), errors, name-list Active filtering."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferredrev.sandbox.intuit import BIG_REALM, CLOSED_REALM, US_REALM, IntuitSandbox
from deferredrev.sandbox.intuit.query import run_query
from tests.sandbox.conftest import Connect, MakeSandbox, api_client


def query(client: httpx.Client, text: str, realm: str = US_REALM) -> dict[str, Any]:
    response = client.get(f"/v3/company/{realm}/query", params={"query": text})
    assert response.status_code == 200, response.text
    assert "time" in response.json()
    result: dict[str, Any] = response.json()["QueryResponse"]
    return result


def fault_code(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    code: str = response.json()["Fault"]["Error"][0]["code"]
    return code


def names(result: dict[str, Any], entity: str = "Account") -> list[str]:
    return [row["Name"] for row in result.get(entity, [])]


@pytest.fixture
def big_api(intuit: IntuitSandbox, connect_intuit: Connect) -> Iterator[httpx.Client]:
    with api_client(intuit, connect_intuit(intuit, BIG_REALM)["access_token"]) as client:
        yield client


def test_select_by_name_with_an_escaped_apostrophe(qbo_api: httpx.Client) -> None:
    result = query(qbo_api, r"SELECT * FROM Account WHERE Name = 'Owner\'s Investment'")

    assert names(result) == ["Owner's Investment"]
    assert result["startPosition"] == 1 and result["maxResults"] == 1


def test_unescaped_apostrophe_is_a_parse_error(qbo_api: httpx.Client) -> None:
    response = qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": "SELECT * FROM Account WHERE Name = 'Owner's'"})

    assert fault_code(response) == "4000"
    error = response.json()["Fault"]["Error"][0]
    assert error["Message"] == "Error parsing query" and error["Detail"].startswith("QueryParserError: Encountered")


def test_keywords_properties_and_values_are_case_insensitive(qbo_api: httpx.Client) -> None:
    result = query(
        qbo_api, "select * from account where name = 'DEFERRED REVENUE' and accounttype = 'other current liability'"
    )

    assert names(result) == ["Deferred Revenue"]


def test_like_with_percent_wildcards_and_unicode(qbo_api: httpx.Client) -> None:
    assert names(query(qbo_api, "SELECT * FROM Account WHERE Name LIKE 'subscription%'")) == ["Subscription Revenue"]
    assert names(query(qbo_api, "SELECT * FROM Account WHERE FullyQualifiedName LIKE 'Subscription Revenue:%'")) == [
        "Annual Plans",
        "Monthly Plans",
    ]
    assert names(query(qbo_api, "SELECT * FROM Account WHERE Name LIKE '%café%'")) == ["Café & Team Meals"]


def test_in_and_comparison_operators(qbo_api: httpx.Client) -> None:
    result = query(qbo_api, "SELECT * FROM Account WHERE Id IN ('1', '2', '9999') ORDERBY Id DESC")
    assert [row["Id"] for row in result["Account"]] == ["2", "1"]

    income = query(
        qbo_api, "SELECT * FROM Account WHERE Classification = 'Revenue' AND AccountType IN ('Income') MAXRESULTS 1000"
    )
    assert "Services" in names(income) and all(row["AccountType"] == "Income" for row in income["Account"])

    balances = query(qbo_api, "SELECT * FROM Account WHERE CurrentBalance >= 20000 ORDER BY Name")
    assert names(balances) == ["Deferred Revenue", "Notes Payable", "Savings"]


def test_id_supports_only_equality_and_in(qbo_api: httpx.Client) -> None:
    response = qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": "SELECT * FROM Account WHERE Id > '3'"})

    assert fault_code(response) == "4000"


def test_unknown_property_is_4001(qbo_api: httpx.Client) -> None:
    response = qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": "SELECT * FROM Account WHERE Colour = 'red'"})

    assert fault_code(response) == "4001"
    assert (
        response.json()["Fault"]["Error"][0]["Detail"]
        == "QueryValidationError: Property Colour not found for Entity Account"
    )


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Name FROM Account",
        "SELECT * FROM Account WHERE Name = 'a' OR Name = 'b'",
        "SELECT * FROM Nonsense",
        "SELECT * FROM Account MAXRESULTS 0",
        "SELECT * FROM Account STARTPOSITION 0",
        "",
    ],
)
def test_unsupported_syntax_is_4000(qbo_api: httpx.Client, text: str) -> None:
    assert fault_code(qbo_api.get(f"/v3/company/{US_REALM}/query", params={"query": text})) == "4000"


def test_no_match_is_an_empty_query_response(qbo_api: httpx.Client) -> None:
    assert query(qbo_api, "SELECT * FROM Account WHERE Name = 'No such account'") == {}


def test_count_star(qbo_api: httpx.Client, big_api: httpx.Client) -> None:
    assert query(qbo_api, "SELECT COUNT(*) FROM Account") == {"totalCount": 86}
    assert query(big_api, "SELECT count(*) FROM Account", BIG_REALM) == {"totalCount": 2030}
    assert query(big_api, "SELECT count(*) FROM Account WHERE Name LIKE 'Deferred Revenue - EMEA%'", BIG_REALM) == {
        "totalCount": 12
    }


def test_paging_over_two_thousand_accounts(big_api: httpx.Client) -> None:
    seen: list[str] = []
    start = 1
    while True:
        page = query(big_api, f"SELECT * FROM Account STARTPOSITION {start} MAXRESULTS 1000", BIG_REALM)
        if not page:
            break
        assert page["startPosition"] == start and page["maxResults"] == len(page["Account"])
        seen.extend(row["Id"] for row in page["Account"])
        start += 1000
    assert len(seen) == 2030 == len(set(seen))
    assert seen == sorted(seen, key=int)

    last = query(big_api, "SELECT * FROM Account STARTPOSITION 2001 MAXRESULTS 100", BIG_REALM)
    assert last["maxResults"] == 30


def test_default_page_size_is_100_and_the_cap_is_1000(
    big_api: httpx.Client, make_intuit: MakeSandbox, connect_intuit: Connect
) -> None:
    assert query(big_api, "SELECT * FROM Account", BIG_REALM)["maxResults"] == 100
    over = big_api.get(f"/v3/company/{BIG_REALM}/query", params={"query": "SELECT * FROM Account MAXRESULTS 1001"})
    assert fault_code(over) == "4001"

    clamping = make_intuit(max_results_over_cap="clamp")
    with api_client(clamping, connect_intuit(clamping, BIG_REALM)["access_token"]) as client:
        assert query(client, "SELECT * FROM Account MAXRESULTS 5000", BIG_REALM)["maxResults"] == 1000


def test_type_ahead_prefix_search_on_the_big_company(big_api: httpx.Client) -> None:
    result = query(big_api, "SELECT * FROM Account WHERE Name LIKE 'Deferred Re%' ORDERBY Name MAXRESULTS 20", BIG_REALM)

    assert names(result)[0] == "Deferred Rent"
    assert all(name.lower().startswith("deferred re") for name in names(result))


def test_inactive_accounts_are_hidden_unless_active_is_filtered(intuit: IntuitSandbox, connect_intuit: Connect) -> None:
    with api_client(intuit, connect_intuit(intuit, CLOSED_REALM)["access_token"]) as client:
        visible = names(query(client, "SELECT * FROM Account WHERE Name LIKE 'Legacy%'", CLOSED_REALM))
        both = query(client, "SELECT * FROM Account WHERE Active IN (true, false) AND Name LIKE 'Legacy%'", CLOSED_REALM)
        inactive = query(client, "SELECT * FROM Account WHERE Active = false", CLOSED_REALM)

    assert visible == []
    assert names(both) == ["Legacy Consulting (deleted)"] and both["Account"][0]["Active"] is False
    assert names(inactive) == ["Legacy Consulting (deleted)"]


def test_deactivated_account_is_marked_and_hidden(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    services = query(qbo_api, "SELECT * FROM Account WHERE Name = 'Services'")["Account"][0]
    intuit.deactivate_account(US_REALM, services["Id"])

    assert query(qbo_api, "SELECT * FROM Account WHERE Name = 'Services'") == {}
    hidden = query(qbo_api, f"SELECT * FROM Account WHERE Id = '{services['Id']}' AND Active = false")
    assert names(hidden) == ["Services (deleted)"]


def test_post_query_with_application_text(qbo_api: httpx.Client) -> None:
    response = qbo_api.post(
        f"/v3/company/{US_REALM}/query",
        content="SELECT * FROM Account WHERE AccountSubType = 'ServiceFeeIncome' ORDER BY Name ASC",
        headers={"Content-Type": "application/text"},
    )

    assert response.status_code == 200
    assert names(response.json()["QueryResponse"])[:2] == ["Consulting Income", "Design income"]


def test_company_info_and_preferences_entities(qbo_api: httpx.Client) -> None:
    info = query(qbo_api, "SELECT * FROM CompanyInfo")
    prefs = query(qbo_api, "select * from preferences")

    assert info["CompanyInfo"][0]["CompanyName"] == "Sandbox Company_US_1"
    assert prefs["Preferences"][0]["CurrencyPrefs"]["MultiCurrencyEnabled"] is False


def test_sub_account_shape(qbo_api: httpx.Client) -> None:
    row = query(qbo_api, "SELECT * FROM Account WHERE FullyQualifiedName = 'Job Expenses:Job Materials:Plants and Soil'")[
        "Account"
    ][0]

    assert row["SubAccount"] is True and row["ParentRef"]["name"] == "Job Materials"
    assert row["Classification"] == "Expense" and row["CurrencyRef"]["value"] == "USD"
    assert row["SyncToken"] == "0" and row["domain"] == "QBO" and row["sparse"] is False


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_any_name_round_trips_through_backslash_escaping(name: str) -> None:
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    rows = [{"Id": "1", "Name": name, "Active": True}, {"Id": "2", "Name": name + "x", "Active": True}]

    result = run_query(f"SELECT * FROM Account WHERE Name = '{escaped}'", lambda _entity: rows)

    assert [row["Id"] for row in result["Account"]] == ["1"]
