"""`deferredrev contracts import|export`, run as a user would: the console script from an unrelated directory."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deferredrev.demo.samples import sample_contracts_path
from deferredrev.revrec.csv_contracts import parse_contracts_csv
from deferredrev.revrec.money import parse_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import scheduled_amount
from deferredrev.storage.db import make_engine, make_session_factory
from deferredrev.storage.models import Contract as ContractRow
from deferredrev.storage.models import Workspace

SCRIPT = Path(sys.executable).with_name("deferredrev")
TEAM = "T0CLI0001"
OCTOBER = Period.parse("2026-10")


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "QBO_", "DEFERREDREV_", "DATABASE_URL"))}
    return subprocess.run([str(SCRIPT), *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = run(["keys", "generate", "--id", "cli"], {}, tmp_path_factory.mktemp("keys"))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    elsewhere = tmp_path / "unrelated" / "cwd"
    elsewhere.mkdir(parents=True)
    return elsewhere


@pytest.fixture
def env(tmp_path: Path, key: str) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DEFERREDREV_ENCRYPTION_KEYS": key}


def stored(env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """The team's contracts in the database: contract_id -> (amount in minor units, revision)."""
    engine = make_engine(env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            found = session.scalars(select(ContractRow).where(ContractRow.team_id == TEAM))
            return {row.contract_id: (row.amount_minor, row.revision) for row in found}
    finally:
        engine.dispose()


def import_file(path: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(["contracts", "import", str(path), "--team", TEAM], env, cwd)


def test_import_the_sample_then_again_unchanged(env: dict[str, str], workdir: Path) -> None:
    first = import_file(sample_contracts_path(), env, workdir)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith(f"imported 40 new and updated 0 contract(s) for team {TEAM} (0 unchanged)")
    again = import_file(sample_contracts_path(), env, workdir)
    assert again.returncode == 0, again.stderr
    assert f"imported 0 new and updated 0 contract(s) for team {TEAM} (40 unchanged)" in again.stdout
    rows = stored(env)
    assert len(rows) == 40 and {revision for _, revision in rows.values()} == {1}
    assert rows["C-1037"][0] == -120000  # the negative credit kept its sign


def test_an_edited_file_updates_only_what_changed(env: dict[str, str], workdir: Path, tmp_path: Path) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    text = sample_contracts_path().read_text(encoding="utf-8")
    edited = text.replace("C-1001,Northwind Logistics,24000.00", "C-1001,Northwind Logistics,25200.00")
    edited = edited.replace(
        "C-1002,Bluebird Dental Group,12000.00,USD,2025-10-15,2026-10-14,daily,Team plan annual",
        "C-1002,Bluebird Dental Group,12000.00,USD,2025-10-15,2026-10-14,daily,Team plan (renamed)",
    )
    edited += "C-1041,Proseware Manufacturing,1500.00,USD,2026-10-01,2026-12-31,monthly_even,Training,\n"
    path = tmp_path / "edited.csv"
    path.write_text(edited, encoding="utf-8")
    result = import_file(path, env, workdir)
    assert result.returncode == 0, result.stderr
    assert "imported 1 new and updated 2 contract(s)" in result.stdout
    rows = stored(env)
    assert rows["C-1001"] == (2520000, 2) and rows["C-1002"][1] == 2 and rows["C-1003"][1] == 1
    assert rows["C-1041"] == (150000, 1) and len(rows) == 41


def test_a_malformed_file_lists_every_error_by_line_and_imports_nothing(
    env: dict[str, str], workdir: Path, tmp_path: Path
) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "contract_id,customer,amount,currency,start_date,end_date\n"
        "C-1001,Northwind Logistics,99999.00,USD,2025-10-01,2026-09-30\n"  # valid: an update, which must not happen
        "C-2001,Acme,10.001,USD,2026-01-01,2026-12-31\n"
        "C-2002,,100.00,USD,2026-01-01,2026-12-31\n"
        "C-2003,Acme,100.00,ABC,2026-02-30,2026-12-31\n"
        "C-2004,Acme,100.00,USD,2026-12-31,2026-01-01\n"
        "C-2001,Acme,100.00,USD,2026-01-01,2026-12-31\n"
        "C-2005,Acme,100.00,USD\n",
        encoding="utf-8",
    )
    result = import_file(bad, env, workdir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "nothing imported, 7 problem(s)" in result.stderr
    for expected in (
        "line 3, amount: USD allows at most 2 decimals; got 10.001",
        "line 4, customer: customer is empty",
        "line 5, currency: unknown currency 'ABC'",
        "line 5, start_date: start_date '2026-02-30' is not a real calendar date",
        "line 6, end_date: end_date 2026-01-01 is before start_date 2026-12-31",
        "line 7, contract_id: duplicate contract_id 'C-2001' (first on line 3)",
        "line 8: expected 6 fields, found 4",
    ):
        assert expected in result.stderr
    rows = stored(env)
    assert len(rows) == 40 and rows["C-1001"] == (2400000, 1)


def test_a_malformed_file_into_an_empty_database_stores_no_contract(
    env: dict[str, str], workdir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("contract_id,customer,amount,currency,start_date,end_date\nC1,Acme,1.00,USD,2026-01-01,nope\n")
    result = import_file(bad, env, workdir)
    assert result.returncode == 1 and "line 2, end_date:" in result.stderr
    engine = make_engine(env["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ContractRow)) == 0
    engine.dispose()


def test_export_round_trips_the_contracts(env: dict[str, str], workdir: Path) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    result = run(["contracts", "export", "--team", TEAM], env, workdir)
    assert result.returncode == 0, result.stderr
    exported = parse_contracts_csv(result.stdout)
    original = parse_contracts_csv(sample_contracts_path().read_text(encoding="utf-8"))
    assert exported.ok and sorted(exported.contracts, key=lambda c: c.contract_id) == sorted(
        original.contracts, key=lambda c: c.contract_id
    )


def test_export_of_a_period_schedule_matches_revrec(env: dict[str, str], workdir: Path) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    result = run(["contracts", "export", "--team", TEAM, "--period", "2026-10"], env, workdir)
    assert result.returncode == 0, result.stderr
    lines = list(csv.DictReader(io.StringIO(result.stdout)))
    assert lines and {line["period"] for line in lines} == {"2026-10"}
    assert all(re.fullmatch(r"-?\d+\.\d{2}", line["amount"]) for line in lines)
    contracts = {c.contract_id: c for c in parse_contracts_csv(sample_contracts_path().read_text()).contracts}
    exported = {line["contract_id"]: parse_amount(line["amount"], "USD") for line in lines}
    expected = {cid: scheduled_amount(c, OCTOBER) for cid, c in contracts.items() if cid in exported}
    assert exported == expected
    assert exported["C-1040"] == 250000  # a one-month service lands whole in its month
    assert exported["C-1028"] == scheduled_amount(contracts["C-1028"], OCTOBER)  # monthly_prorated stub
    assert "C-1038" not in exported and "C-1034" not in exported  # cancelled in April; starts in 2027
    assert sum(exported.values()) == sum(scheduled_amount(c, OCTOBER) for c in contracts.values())


def test_unreadable_files_are_refused_clearly(env: dict[str, str], workdir: Path, tmp_path: Path) -> None:
    missing = import_file(tmp_path / "nowhere.csv", env, workdir)
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr and "nowhere.csv" in missing.stderr and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        "contract_id,customer,amount,currency,start_date,end_date\nC1,Café,1.00,USD,2026-01-01,2026-01-31\n".encode(
            "latin-1"
        )
    )
    result = import_file(latin1, env, workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "latin1.csv isn't UTF-8 text. Save it as “CSV UTF-8 (Comma delimited)” (Excel)" in result.stderr
    assert "then import it again. (Byte 64 is not UTF-8.)" in result.stderr


def test_export_with_a_bad_period_or_an_empty_database_is_clear(env: dict[str, str], workdir: Path) -> None:
    empty = run(["contracts", "export", "--team", "T0NEW"], env, workdir)
    assert empty.returncode == 0 and empty.stdout.startswith("contract_id,")
    bad = run(["contracts", "export", "--team", "T0NEW", "--period", "2026-13"], env, workdir)
    assert bad.returncode == 1
    assert "--period" in bad.stderr and "Traceback" not in bad.stderr


def test_roll_forward_and_waterfall_reports(env: dict[str, str], workdir: Path) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    contracts = parse_contracts_csv(sample_contracts_path().read_text()).contracts
    period = Period.parse("2026-10")
    rolled = run(["contracts", "export", "--team", TEAM, "--period", "2026-10", "--report", "rollforward"], env, workdir)
    assert rolled.returncode == 0, rolled.stderr
    row = next(csv.DictReader(io.StringIO(rolled.stdout)))
    usd = {name: parse_amount(row[name], "USD") for name in ("opening", "additions", "recognised", "released", "closing")}
    assert usd["opening"] + usd["additions"] - usd["recognised"] - usd["released"] == usd["closing"]
    assert usd["recognised"] == sum(scheduled_amount(c, period) for c in contracts)
    waterfall = run(
        ["contracts", "export", "--team", TEAM, "--period", "2026-01..2026-12", "--report", "waterfall"], env, workdir
    )
    assert waterfall.returncode == 0, waterfall.stderr
    rows = list(csv.DictReader(io.StringIO(waterfall.stdout)))
    assert len(rows) == len(contracts) and "2026-12" in rows[0]
    october = sum(parse_amount(r["2026-10"], r["currency"]) for r in rows)
    assert october == usd["recognised"]
    missing = run(["contracts", "export", "--team", TEAM, "--report", "waterfall"], env, workdir)
    assert missing.returncode == 1 and "--report needs --period" in missing.stderr


def test_dates_at_the_ends_of_the_calendar_are_line_errors(env: dict[str, str], workdir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "ancient.csv"
    bad.write_text(
        "contract_id,customer,amount,currency,start_date,end_date,cancel_date\n"
        "C1,Acme,1.00,USD,0001-01-01,0001-12-31,0001-01-01\n"
        "C2,Acme,1.00,USD,2026-01-01,2026-12-31,\n"
    )
    result = import_file(bad, env, workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "line 2, start_date: start_date 0001-01-01 is out of range" in result.stderr
    assert stored(env) == {}


def test_a_workspace_made_by_an_import_gets_the_default_plan(env: dict[str, str], workdir: Path) -> None:
    result = import_file(sample_contracts_path(), {**env, "DEFERREDREV_DEFAULT_PLAN": "starter"}, workdir)
    assert result.returncode == 0, result.stderr
    engine = make_engine(env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            assert session.get_one(Workspace, TEAM).plan == "starter"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("report", "period", "message"),
    [
        ("rollforward", "2026-01..2026-03", "--period: rollforward covers one month (YYYY-MM), not a range"),
        ("waterfall", "2026-03..2026-01", "--period: the range 2026-03..2026-01 ends before it starts"),
    ],
)
def test_report_periods_that_would_mislead_are_refused(
    env: dict[str, str], workdir: Path, report: str, period: str, message: str
) -> None:
    assert import_file(sample_contracts_path(), env, workdir).returncode == 0
    result = run(["contracts", "export", "--team", TEAM, "--report", report, "--period", period], env, workdir)
    assert result.returncode == 1 and result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_malformed_database_url_is_a_configuration_error(env: dict[str, str], workdir: Path) -> None:
    url = "postgresql://revrec:canary-db-pw-2@db.example.com:54x2/revrec"
    result = import_file(sample_contracts_path(), {**env, "DATABASE_URL": url}, workdir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "configuration error: DATABASE_URL is not a valid database URL" in result.stderr
    assert "canary-db-pw-2" not in result.stderr
