"""Deterministic seed companies: a realistic small US company, a 2,000+ account company, closed books, multicurrency."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

from deferredrev.sandbox.intuit.company import Company, Preferences

US_REALM = "9341453000000001"
BIG_REALM = "9341453000000002"
CLOSED_REALM = "9341453000000003"
MULTICURRENCY_REALM = "9341453000000004"
SEED_CREATED = datetime(2024, 1, 2, 17, 0, tzinfo=UTC)

# (Name, AccountType, AccountSubType, parent Name or None, opening balance)
US_CHART: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("Checking", "Bank", "Checking", None, 12840),
    ("Savings", "Bank", "Savings", None, 40500),
    ("Petty Cash", "Bank", "CashOnHand", None, 250),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", None, 18320),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", None, 0),
    ("Inventory Asset", "Other Current Asset", "Inventory", None, 5410),
    ("Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", None, 3600),
    ("Prepaid Expenses:Prepaid Insurance", "Other Current Asset", "PrepaidExpenses", "Prepaid Expenses", 1200),
    ("Prepaid Expenses:Prepaid Software", "Other Current Asset", "PrepaidExpenses", "Prepaid Expenses", 2400),
    ("Employee Cash Advances", "Other Current Asset", "EmployeeCashAdvances", None, 0),
    ("Truck", "Fixed Asset", "Vehicles", None, 0),
    ("Truck:Original Cost", "Fixed Asset", "Vehicles", "Truck", 13495),
    ("Truck:Depreciation", "Fixed Asset", "AccumulatedDepreciation", "Truck", -2400),
    ("Furniture and Equipment", "Fixed Asset", "FurnitureAndFixtures", None, 8200),
    ("Computers & Laptops", "Fixed Asset", "MachineryAndEquipment", None, 6400),
    ("Security Deposits", "Other Asset", "SecurityDeposits", None, 3000),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", None, 1602),
    ("Mastercard", "Credit Card", "CreditCard", None, 157),
    ("Visa Business Card", "Credit Card", "CreditCard", None, 0),
    ("Deferred Revenue", "Other Current Liability", "OtherCurrentLiabilities", None, 24000),
    ("Deferred Revenue:Annual Subscriptions", "Other Current Liability", "OtherCurrentLiabilities", "Deferred Revenue", 0),
    ("Deferred Revenue:Implementation Fees", "Other Current Liability", "OtherCurrentLiabilities", "Deferred Revenue", 0),
    ("Customer Deposits", "Other Current Liability", "OtherCurrentLiabilities", None, 1500),
    ("Accrued Liabilities", "Other Current Liability", "AccruedLiabilities", None, 0),
    ("Payroll Liabilities", "Other Current Liability", "PayrollTaxPayable", None, 0),
    (
        "Payroll Liabilities:Federal Taxes (941/944)",
        "Other Current Liability",
        "PayrollTaxPayable",
        "Payroll Liabilities",
        0,
    ),
    ("Payroll Liabilities:CA PIT / SDI", "Other Current Liability", "PayrollTaxPayable", "Payroll Liabilities", 0),
    ("Board of Equalization Payable", "Other Current Liability", "SalesTaxPayable", None, 370),
    ("Loan Payable", "Other Current Liability", "LoansToOthers", None, 4000),
    ("Notes Payable", "Long Term Liability", "NotesPayable", None, 25000),
    ("Equipment Loan", "Long Term Liability", "OtherLongTermLiabilities", None, 0),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", None, -9337),
    ("Owner's Investment", "Equity", "OwnersEquity", None, 0),
    ("Owner's Pay & Personal Expenses", "Equity", "PartnerDistributions", None, 0),
    ("Retained Earnings", "Equity", "RetainedEarnings", None, 0),
    ("Services", "Income", "ServiceFeeIncome", None, 0),
    ("Subscription Revenue", "Income", "SalesOfProductIncome", None, 0),
    ("Subscription Revenue:Annual Plans", "Income", "SalesOfProductIncome", "Subscription Revenue", 0),
    ("Subscription Revenue:Monthly Plans", "Income", "SalesOfProductIncome", "Subscription Revenue", 0),
    ("Consulting Income", "Income", "ServiceFeeIncome", None, 0),
    ("Design income", "Income", "ServiceFeeIncome", None, 0),
    ("Landscaping Services", "Income", "ServiceFeeIncome", None, 0),
    ("Landscaping Services:Job Materials", "Income", "ServiceFeeIncome", "Landscaping Services", 0),
    ("Landscaping Services:Labor", "Income", "ServiceFeeIncome", "Landscaping Services", 0),
    ("Pest Control Services", "Income", "ServiceFeeIncome", None, 0),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", None, 0),
    ("Discounts given", "Income", "DiscountsRefundsGiven", None, 0),
    ("Refunds-Allowances", "Income", "DiscountsRefundsGiven", None, 0),
    ("Fees Billed", "Income", "ServiceFeeIncome", None, 0),
    ("Interest Earned", "Other Income", "InterestEarned", None, 0),
    ("Other Portfolio Income", "Other Income", "OtherMiscellaneousIncome", None, 0),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", None, 0),
    ("Hosting & Infrastructure", "Cost of Goods Sold", "OtherCostsOfServiceCos", None, 0),
    ("Advertising", "Expense", "AdvertisingPromotional", None, 0),
    ("Automobile", "Expense", "Auto", None, 0),
    ("Automobile:Fuel", "Expense", "Auto", "Automobile", 0),
    ("Bank Charges", "Expense", "BankCharges", None, 0),
    ("Commissions & fees", "Expense", "OtherMiscellaneousServiceCost", None, 0),
    ("Dues & Subscriptions", "Expense", "DuesSubscriptions", None, 0),
    ("Equipment Rental", "Expense", "EquipmentRental", None, 0),
    ("Insurance", "Expense", "Insurance", None, 0),
    ("Insurance:Workers' Compensation", "Expense", "Insurance", "Insurance", 0),
    ("Job Expenses", "Expense", "CostOfLabor", None, 0),
    ("Job Expenses:Job Materials", "Expense", "SuppliesMaterials", "Job Expenses", 0),
    ("Job Expenses:Job Materials:Plants and Soil", "Expense", "SuppliesMaterials", "Job Expenses:Job Materials", 0),
    ("Legal & Professional Fees", "Expense", "LegalProfessionalFees", None, 0),
    ("Legal & Professional Fees:Accounting", "Expense", "LegalProfessionalFees", "Legal & Professional Fees", 0),
    ("Legal & Professional Fees:Lawyer", "Expense", "LegalProfessionalFees", "Legal & Professional Fees", 0),
    ("Maintenance and Repair", "Expense", "RepairMaintenance", None, 0),
    ("Meals and Entertainment", "Expense", "EntertainmentMeals", None, 0),
    ("Café & Team Meals", "Expense", "EntertainmentMeals", None, 0),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", None, 0),
    ("Promotional", "Expense", "AdvertisingPromotional", None, 0),
    ("Rent or Lease", "Expense", "RentOrLeaseOfBuildings", None, 0),
    ("Software Subscriptions", "Expense", "DuesSubscriptions", None, 0),
    ("Stationery & Printing", "Expense", "OfficeGeneralAdministrativeExpenses", None, 0),
    ("Supplies", "Expense", "SuppliesMaterials", None, 0),
    ("Taxes & Licenses", "Expense", "TaxesPaid", None, 0),
    ("Travel", "Expense", "Travel", None, 0),
    ("Travel Meals", "Expense", "TravelMeals", None, 0),
    ("Utilities", "Expense", "Utilities", None, 0),
    ("Utilities:Gas and Electric", "Expense", "Utilities", "Utilities", 0),
    ("Utilities:Telephone", "Expense", "Utilities", "Utilities", 0),
    ("Übersetzungsdienste (Translation)", "Expense", "OtherMiscellaneousServiceCost", None, 0),
    ("Miscellaneous", "Other Expense", "OtherMiscellaneousExpense", None, 0),
    ("Depreciation", "Other Expense", "Depreciation", None, 0),
)

BIG_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("Deferred Revenue", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Deferred Revenue - Enterprise", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Deferred Rent", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Customer Deposits", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Accrued Liabilities", "Other Current Liability", "AccruedLiabilities"),
    ("Unearned Income", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Subscription Revenue", "Income", "SalesOfProductIncome"),
    ("Subscription Revenue - Add-ons", "Income", "SalesOfProductIncome"),
    ("Services Revenue", "Income", "ServiceFeeIncome"),
    ("Service Fees", "Income", "ServiceFeeIncome"),
    ("Support & Maintenance", "Income", "ServiceFeeIncome"),
    ("Operating Expenses", "Expense", "OfficeGeneralAdministrativeExpenses"),
    ("Operating Bank", "Bank", "Checking"),
    ("Prepaid Expenses", "Other Current Asset", "PrepaidExpenses"),
)
BIG_REGIONS = ("AMER", "APAC", "EMEA", "LATAM", "ANZ", "Nordics", "DACH", "Benelux", "Iberia", "Japan", "India", "UK&I")


def seed_companies(now: datetime) -> list[Company]:
    del now  # seed data is fixed so realms are identical across runs
    return [us_company(), big_company(), closed_books_company(), multicurrency_company()]


def _company(realm_id: str, name: str, prefs: Preferences) -> Company:
    return Company(realm_id=realm_id, name=name, preferences=prefs, created=SEED_CREATED)


def _add_chart(company: Company, chart: tuple[tuple[str, str, str, str | None, int], ...]) -> None:
    for qualified, account_type, sub_type, parent, balance in chart:
        name = qualified.rsplit(":", 1)[-1]
        company.add_account(name, account_type, sub_type, parent=parent, balance=Decimal(balance))


def us_company() -> Company:
    company = _company(US_REALM, "Sandbox Company_US_1", Preferences(warn_duplicate_doc_number=True))
    _add_chart(company, US_CHART)
    return company


def big_company() -> Company:
    """2,000+ accounts whose names share long prefixes, so type-ahead and paging matter."""
    company = _company(BIG_REALM, "Enormous Holdings Group, Inc.", Preferences(warn_duplicate_doc_number=False))
    rng = random.Random(20260401)
    for prefix, account_type, sub_type in BIG_PREFIXES:
        parent = company.add_account(prefix, account_type, sub_type)
        for region in BIG_REGIONS:
            for number in range(1, 13):
                name = f"{prefix} - {region} {number:03d}"
                balance = Decimal(rng.randrange(0, 5_000_000)) / 100
                company.add_account(name, account_type, sub_type, parent=parent.name, balance=balance)
    return company


def closed_books_company() -> Company:
    prefs = Preferences(book_close_date=date(2025, 12, 31), warn_duplicate_doc_number=True)
    company = _company(CLOSED_REALM, "Closed Books Bakery LLC", prefs)
    _add_chart(company, US_CHART[:45])
    company.add_account("Legacy Consulting (deleted)", "Income", "ServiceFeeIncome", active=False)
    return company


def multicurrency_company() -> Company:
    prefs = Preferences(multicurrency=True, home_currency="USD", warn_duplicate_doc_number=True)
    company = _company(MULTICURRENCY_REALM, "Global Widgets (Multicurrency) Co", prefs)
    _add_chart(company, US_CHART[:40])
    company.add_account("Deferred Revenue EUR", "Other Current Liability", "OtherCurrentLiabilities", currency="EUR")
    company.add_account("Subscription Revenue EUR", "Income", "SalesOfProductIncome", currency="EUR")
    company.add_account("Accounts Receivable (A/R) - EUR", "Accounts Receivable", "AccountsReceivable", currency="EUR")
    company.add_account("Deferred Revenue CAD", "Other Current Liability", "OtherCurrentLiabilities", currency="CAD")
    company.add_account("Deferred Revenue JPY", "Other Current Liability", "OtherCurrentLiabilities", currency="JPY")
    return company
