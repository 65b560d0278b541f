"""`deferredrev report`, run as a user would: the roll-forward for a range of months on stdout, the same CSV and chart
as Slack gets written to --out, and clear refusals; `contracts export --report rollforward` books by billed date."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from deferredrev.revrec.rollforward import CSV_COLUMNS
from tests.test_cli_contracts import TEAM, env, key, run, workdir  # noqa: F401 - fixtures

CONTRACTS = """contract_id,customer,amount,currency,start_date,end_date,billed_date
C-1,Acme,1200.00,USD,2026-01-01,2026-12-31,2025-12-20
C-2,Beta,600.00,USD,2026-03-01,2026-08-31,2026-04-02
C-3,Gamma,300000,JPY,2026-01-01,2026-06-30,
"""


def imported(env: dict[str, str], workdir: Path) -> None:  # noqa: F811
    path = workdir / "contracts.csv"
    path.write_text(CONTRACTS, encoding="utf-8")
    result = run(["contracts", "import", str(path), "--team", TEAM], env, workdir)
    assert result.returncode == 0, result.stderr


def test_report_prints_the_roll_forward_and_writes_the_csv_and_chart(env: dict[str, str], workdir: Path) -> None:  # noqa: F811
    imported(env, workdir)
    out = workdir / "out"
    out.mkdir()
    result = run(["report", "--team", TEAM, "--period", "2026-01..2026-06", "--out", str(out)], env, workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Deferred revenue roll-forward · Jan–Jun 2026 · team {TEAM}"
    assert "JPY" in lines and "USD" in lines
    jan = next(line for line in lines if line.startswith("Jan 2026") and "1,200.00" in line)  # opened by December's bill
    assert jan.split()[2:4] == ["1,200.00", "0.00"]
    assert any(line.startswith("Apr 2026") and "600.00" in line for line in lines)  # C-2 billed in April
    assert "no Deferred Revenue account is mapped" in result.stdout
    csv_file, png_file = (
        out / "deferredrev-rollforward-2026-01_2026-06.csv",
        out / "deferredrev-rollforward-2026-01_2026-06.png",
    )
    assert f"Wrote {csv_file} and {png_file}" in result.stdout
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert ["2026-04", "USD", "C-2", "Beta", "0.00", "600.00", "0.00", "198.91", "0.00", "401.09"] in rows
    assert png_file.read_bytes().startswith(b"\x89PNG")


def test_report_refuses_a_bad_range_and_a_missing_folder(env: dict[str, str], workdir: Path) -> None:  # noqa: F811
    backwards = run(["report", "--team", TEAM, "--period", "2026-06..2026-01"], env, workdir)
    assert backwards.returncode == 1 and "--period: the range 2026-06..2026-01 ends before it starts" in backwards.stderr
    nowhere = run(["report", "--team", TEAM, "--out", str(workdir / "missing")], env, workdir)
    assert nowhere.returncode == 1 and "is not a folder" in nowhere.stderr


def test_one_month_export_books_contracts_by_their_billed_date(env: dict[str, str], workdir: Path) -> None:  # noqa: F811
    imported(env, workdir)
    march = run(["contracts", "export", "--team", TEAM, "--period", "2026-03", "--report", "rollforward"], env, workdir)
    assert march.returncode == 0, march.stderr
    usd = next(row for row in csv.reader(io.StringIO(march.stdout)) if row[1] == "USD")
    assert usd[3] == "0.00"  # C-2 starts in March but is billed in April: no addition yet
