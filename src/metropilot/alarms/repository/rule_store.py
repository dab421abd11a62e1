"""Storage of rules, and the token that tells a process its compiled rules are stale."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from metropilot.alarms.model import Rule, RuleType, Severity, parse_params
from metropilot.alarms.repository.tables import alarm_rules


def _rule(row: Any) -> Rule:
    rule_type = RuleType(row.type)
    return Rule(
        id=row.id,
        code=row.code,
        name=row.name,
        description=row.description,
        type=rule_type,
        severity=Severity(row.severity),
        params=parse_params(rule_type, row.params),
        kinds=tuple(row.kinds),
        communes=tuple(row.communes),
        asset_ids=tuple(int(a) for a in row.asset_ids),
        hold_s=row.hold_s,
        flap_window_s=row.flap_window_s,
        suppresses=tuple(int(r) for r in row.suppresses),
        opens_case=bool(row.opens_case),
        enabled=bool(row.enabled),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        updated_by=row.updated_by,
        deleted_at=row.deleted_at,
    )


def list_rules(conn: Connection, *, include_deleted: bool = False) -> list[Rule]:
    query = select(alarm_rules).order_by(alarm_rules.c.id)
    if not include_deleted:
        query = query.where(alarm_rules.c.deleted_at.is_(None))
    return [_rule(row) for row in conn.execute(query)]


def get_rule(conn: Connection, rule_id: int) -> Rule | None:
    row = conn.execute(select(alarm_rules).where(alarm_rules.c.id == rule_id)).first()
    return _rule(row) if row else None


def rule_ids_by_code(conn: Connection) -> dict[str, int]:
    query = select(alarm_rules.c.code, alarm_rules.c.id).where(alarm_rules.c.code.is_not(None))
    return {str(code): int(rule_id) for code, rule_id in conn.execute(query)}


def existing_rule_ids(conn: Connection, ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    query = select(alarm_rules.c.id).where(
        alarm_rules.c.id.in_(wanted), alarm_rules.c.deleted_at.is_(None)
    )
    return {int(r) for (r,) in conn.execute(query)}


def insert_rule(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(alarm_rules).values(values).returning(alarm_rules.c.id))
    return int(result.scalar_one())


def update_rule(conn: Connection, rule_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(alarm_rules).where(alarm_rules.c.id == rule_id).values(values))


def rules_token(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever any rule does (every change bumps a version and the update time), so a
    process notices another's edit with one tiny aggregate per batch. Asked through the driver:
    the statement is fixed, and SQLAlchemy's execution path cost twenty times the query itself,
    paid on every ingest batch. The values are compared, never read, so they stay as stored."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_RULES_VERSION_SQL)
        return tuple(cursor.fetchone() or ())
    finally:
        cursor.close()


_RULES_VERSION_SQL = "SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM alarm_rules"
