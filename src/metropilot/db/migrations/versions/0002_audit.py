"""append-only, hash-chained audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:33:13.895762

Besides the tables, this creates the triggers that make ``audit_log`` append-only: UPDATE and
DELETE are refused on SQLite and PostgreSQL, and on PostgreSQL TRUNCATE too (unless the table is
already empty, so that emptying a test database stays possible). The SQL is written out here, not
imported, so that this revision keeps creating exactly what it created when it shipped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: an audit entry cannot be changed');
    END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: an audit entry cannot be deleted');
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' AND NOT EXISTS (SELECT 1 FROM audit_log) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'audit entries are never changed or removed';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
)


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=160), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.String(length=63), nullable=True),
        sa.Column("sector", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action_id", ["action", "id"], unique=False)
        batch_op.create_index("ix_audit_log_actor_name_id", ["actor_name", "id"], unique=False)
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
        batch_op.create_index(
            "ix_audit_log_object", ["object_type", "object_id", "id"], unique=False
        )
        batch_op.create_index("ix_audit_log_organisation_id", ["organisation", "id"], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        # Metropilot runs on SQLite and PostgreSQL only; refusing is better than an audit trail
        # that the database would let anyone rewrite.
        raise RuntimeError(
            f"the audit trail needs SQLite or PostgreSQL to be append-only, not {dialect}"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_organisation_id")
        batch_op.drop_index("ix_audit_log_object")
        batch_op.drop_index("ix_audit_log_at")
        batch_op.drop_index("ix_audit_log_actor_name_id")
        batch_op.drop_index("ix_audit_log_action_id")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
