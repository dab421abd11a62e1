"""citizen reports: categories, reports, updates, photos, followers, notifications

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:44:22.070984
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import metropilot.db.schema

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("group_name", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_fr", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asset_kind", sa.String(length=32), nullable=True),
        sa.Column("duplicate_radius_m", sa.Float(), nullable=False),
        sa.Column("asset_radius_m", sa.Float(), nullable=False),
        sa.Column("default_priority", sa.String(length=2), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_report_categories_code")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=48), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("status_notes", sa.String(length=2000), nullable=False),
        sa.Column("agency_responsible", sa.String(length=200), nullable=False),
        sa.Column("service_notice", sa.String(length=500), nullable=False),
        sa.Column("expected_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("requested_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("device_id", sa.String(length=100), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "personal_data_erased_at",
            metropilot.db.schema.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["users.id"], name=op.f("fk_reports_account_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_reports_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["report_categories.code"],
            name=op.f("fk_reports_category_code_report_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_keys.id"], name=op.f("fk_reports_client_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["commune_insee"], ["communes.insee"], name=op.f("fk_reports_commune_insee_communes")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["reports.id"], name=op.f("fk_reports_duplicate_of_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("token", name=op.f("uq_reports_token")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_category_lat", ["category_code", "lat"], unique=False)
        batch_op.create_index("ix_reports_closed_at", ["closed_at"], unique=False)
        batch_op.create_index("ix_reports_commune", ["commune_insee"], unique=False)
        batch_op.create_index("ix_reports_requested_at", ["requested_at"], unique=False)
        batch_op.create_index("ix_reports_state", ["state"], unique=False)
        batch_op.create_index("ix_reports_updated_at", ["updated_at"], unique=False)

    op.create_table(
        "report_followers",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("since", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_followers_report_id_reports")
        ),
        sa.UniqueConstraint("report_id", "email", name="uq_report_followers"),
    )
    op.create_table(
        "report_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_notifications_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_notifications")),
    )
    with op.batch_alter_table("report_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_notifications_due", ["sent_at", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_notifications_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_photos_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_photos")),
        sa.UniqueConstraint("report_id", "position", name="uq_report_photos_position"),
    )
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_photos_report_id"), ["report_id"], unique=False)

    op.create_table(
        "report_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", metropilot.db.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_updates_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_updates")),
    )
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_updates_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_updates_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_updates_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_updates_at"))

    op.drop_table("report_updates")
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_photos_report_id"))

    op.drop_table("report_photos")
    with op.batch_alter_table("report_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_notifications_report_id"))
        batch_op.drop_index("ix_report_notifications_due")

    op.drop_table("report_notifications")
    op.drop_table("report_followers")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_updated_at")
        batch_op.drop_index("ix_reports_state")
        batch_op.drop_index("ix_reports_requested_at")
        batch_op.drop_index("ix_reports_commune")
        batch_op.drop_index("ix_reports_closed_at")
        batch_op.drop_index("ix_reports_category_lat")

    op.drop_table("reports")
    op.drop_table("report_categories")
