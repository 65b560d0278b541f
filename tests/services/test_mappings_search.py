from __future__ import annotations

from deferredrev.qbo.models import Account
from deferredrev.services.mappings import OPTION_TEXT_LIMIT, Role, by_name, search


def account(id_: str, name: str, type_: str, active: bool = True) -> Account:
    return Account(id_, name.split(":")[-1], name, type_, None, None, active, "USD")


CHART = by_name(
    [
        account("1", "Deferred Revenue", "Other Current Liability"),
        account("2", "Deferred Revenue:Annual plans", "Other Current Liability"),
        account("3", "Loans", "Long Term Liability"),
        account("4", "Accounts Payable", "Accounts Payable"),
        account("5", "Services", "Income"),
        account("6", "Subscription Revenue", "Income"),
        account("7", "Interest earned", "Other Income"),
        account("8", "Old Revenue", "Income", active=False),
        account("9", "Checking", "Bank"),
        account("10", "Revenue share " + "x" * 100, "Income"),
    ]
)


def test_roles_filter_by_account_type() -> None:
    assert [o.account_id for o in search(CHART, Role.DEFERRED_REVENUE, "")] == ["1", "2", "3"]
    assert {o.account_id for o in search(CHART, Role.REVENUE, "")} == {"5", "6", "7", "10"}


def test_typed_text_matches_anywhere_prefix_first_case_insensitively() -> None:
    found = [o.account_id for o in search(CHART, Role.REVENUE, "REV")]
    assert found[:1] == ["10"] and set(found) == {"6", "10"}


def test_option_text_fits_slack() -> None:
    assert all(len(o.text) <= OPTION_TEXT_LIMIT for o in search(CHART, Role.REVENUE, ""))


def test_limit_of_one_hundred_options() -> None:
    big = [account(str(i), f"Income {i:04}", "Income") for i in range(2500)]
    assert len(search(big, Role.REVENUE, "")) == 100
    assert len(search(big, Role.REVENUE, "Income 01")) == 100
    assert [o.account_id for o in search(big, Role.REVENUE, "Income 0999")] == ["999"]
