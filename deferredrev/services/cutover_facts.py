"""Recognised-elsewhere facts: what the books kept before DeferredRev recognised of each contract before the
workspace's cut-over date (``revrec/cutover.py``). A fact is fixed the first time the cut-over applies to a contract:
when the cut-over is set or moved (every contract), when a contract is imported while a cut-over exists, or, for
data from before facts were stored, the first time a preview reads the contract. An amendment keeps the fact, so its
effect on the months before the cut-over reaches QuickBooks as catch-up instead of vanishing with them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deferredrev.revrec.cutover import CutOver, recognised_elsewhere
from deferredrev.services.contracts import to_contract
from deferredrev.storage import models


def fix_facts(session: Session, team_id: str, cutover_date: date, *, again: bool = False) -> int:
    """Store the fact of every contract that has none for ``cutover_date`` (of every contract when ``again``: the
    cut-over was set or moved, a new decision about the past). Returns how many were stored."""
    fixed = 0
    for row in session.scalars(select(models.Contract).where(models.Contract.team_id == team_id)):
        if again or row.elsewhere_cutover != cutover_date or row.recognised_elsewhere_minor is None:
            row.recognised_elsewhere_minor = recognised_elsewhere(to_contract(row), cutover_date)
            row.elsewhere_cutover = cutover_date
            fixed += 1
    return fixed


def forget_facts(session: Session, team_id: str) -> None:
    """The cut-over was cleared: nothing counts as recognised elsewhere any more."""
    session.execute(
        update(models.Contract)
        .where(models.Contract.team_id == team_id)
        .values(recognised_elsewhere_minor=None, elsewhere_cutover=None)
        .execution_options(synchronize_session=False)
    )


def load_cutover(session: Session, team_id: str, cutover_date: date | None) -> tuple[CutOver | None, bool]:
    """The workspace's cut-over with its stored facts, and whether some contract has no fact for it yet."""
    if cutover_date is None:
        return None, False
    rows = session.execute(
        select(
            models.Contract.contract_id, models.Contract.recognised_elsewhere_minor, models.Contract.elsewhere_cutover
        ).where(models.Contract.team_id == team_id)
    ).all()
    facts = {cid: int(fact) for cid, fact, fixed_for in rows if fact is not None and fixed_for == cutover_date}
    return CutOver(cutover_date, facts), len(facts) < len(rows)
