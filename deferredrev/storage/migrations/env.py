"""Alembic environment: runs against the engine handed over by ``storage.db.upgrade``.

Each migration runs in its own transaction, stamped with its revision: one that fails (say, 0007 without the keys it
needs) leaves the database at the revision before it. One transaction around them all would not: SQLite commits DDL
as it goes, so an earlier migration's tables would stay while its revision stamp was rolled back.
"""

from __future__ import annotations

from alembic import context

from deferredrev.storage.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
