"""HTTP: alarm rules (supervisors) and alarms (the command post, and others within their scope).

Who may do what with an alarm, within the part of the city they see (``asset_scope``):

| action | operator | supervisor | commune agent | contractor | field agent | admin |
|---|---|---|---|---|---|---|
| read | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
| acknowledge | ✓ | ✓ | ✓ | ✓ | | |
| comment | ✓ | ✓ | ✓ | ✓ | ✓ | |
| assign | ✓ | ✓ | ✓ | | | |
| clear by hand | ✓ | ✓ | | | | |

Clearing by hand is kept to the command post: an alarm's lifetime is what the contract measures,
so the party measured (a contractor) or a local agent does not end it; the equipment does, or the
operator with a comment. The administrator runs the platform, not the command post: read only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from metropilot.accounts.audience import STAFF, Audience, audience
from metropilot.accounts.auth import CurrentPrincipal
from metropilot.accounts.policy import Principal, asset_scope
from metropilot.alarms import services
from metropilot.alarms.model import parse_severity, parse_state
from metropilot.alarms.schemas import (
    AcknowledgeIn,
    AlarmDetailOut,
    AlarmListOut,
    AlarmOut,
    AlarmSummaryOut,
    AssignIn,
    ClearIn,
    CommentIn,
    CommentOut,
    RuleIn,
    RuleListOut,
    RuleOut,
    RulePatch,
    alarm_detail_out,
    alarm_out,
    comment_out,
    rule_out,
)
from metropilot.alarms.services import AlarmFilter
from metropilot.api.deps import SettingsDep, UowDep, WriteUowDep
from metropilot.api.formats import comma_list, list_envelope
from metropilot.api.pagination import decode_cursor, encode_cursor
from metropilot.api.params import ObjectId, id_list
from metropilot.api.responses import JSONResponseFast
from metropilot.assets.model import parse_kind
from metropilot.db.uow import UnitOfWork
from metropilot.shared.errors import InvalidInput
from metropilot.territory import services as territory_services

__all__ = ["ALARM_READERS", "router"]

router = APIRouter()

RULE_EDITORS = (Audience.SUPERVISOR, Audience.ADMIN)
ALARM_READERS = (*STAFF, Audience.COMMUNE_AGENT, Audience.CONTRACTOR, Audience.FIELD_AGENT)
ACKNOWLEDGERS = (
    Audience.OPERATOR,
    Audience.SUPERVISOR,
    Audience.COMMUNE_AGENT,
    Audience.CONTRACTOR,
)
COMMENTERS = (*ACKNOWLEDGERS, Audience.FIELD_AGENT)
ASSIGNERS = (Audience.OPERATOR, Audience.SUPERVISOR, Audience.COMMUNE_AGENT)
CLEARERS = (Audience.OPERATOR, Audience.SUPERVISOR)


# --- rules -------------------------------------------------------------------------------------


@router.get(
    "/rules",
    dependencies=[audience(*STAFF)],
    summary="Alarm rules",
    tags=["rules"],
    response_model=RuleListOut,
)
def list_rules(uow: UowDep) -> Any:
    return list_envelope((rule_out(r) for r in services.list_rules(uow)), None)


@router.get(
    "/rules/{rule_id}",
    dependencies=[audience(*STAFF)],
    summary="One alarm rule",
    tags=["rules"],
    response_model=RuleOut,
)
def get_rule(rule_id: ObjectId, uow: UowDep) -> Any:
    return JSONResponseFast(rule_out(services.get_rule(uow, rule_id)))


@router.post(
    "/rules",
    dependencies=[audience(*RULE_EDITORS)],
    summary="Create an alarm rule",
    tags=["rules"],
    status_code=201,
    response_model=RuleOut,
)
def create_rule(body: RuleIn, principal: CurrentPrincipal, uow: WriteUowDep) -> Any:
    rule = services.create_rule(uow, body.model_dump(mode="json"), principal.actor())
    uow.commit()
    return JSONResponseFast(rule_out(rule), status_code=201)


@router.patch(
    "/rules/{rule_id}",
    dependencies=[audience(*RULE_EDITORS)],
    summary="Change, enable or disable an alarm rule",
    tags=["rules"],
    response_model=RuleOut,
)
def update_rule(
    rule_id: ObjectId, body: RulePatch, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    changes = body.model_dump(mode="json", exclude_unset=True)
    version = changes.pop("version", None)
    rule = services.update_rule(uow, rule_id, changes, principal.actor(), version=version)
    uow.commit()
    return JSONResponseFast(rule_out(rule))


@router.delete(
    "/rules/{rule_id}",
    dependencies=[audience(*RULE_EDITORS)],
    summary="Delete an alarm rule (its open alarms clear; its history stays)",
    tags=["rules"],
    status_code=204,
)
def delete_rule(rule_id: ObjectId, principal: CurrentPrincipal, uow: WriteUowDep) -> None:
    services.delete_rule(uow, rule_id, principal.actor())
    uow.commit()


# --- alarms ------------------------------------------------------------------------------------


class AlarmQuery:
    """The filters of the alarm list, parsed with precise errors."""

    def __init__(
        self,
        asset: Annotated[str | None, Query(description="Asset ids, comma-separated.")] = None,
        state: Annotated[
            str | None, Query(description="active, acknowledged, cleared; comma-separated.")
        ] = None,
        severity: Annotated[str | None, Query(description="Severities, comma-separated.")] = None,
        commune: Annotated[str | None, Query(description="INSEE codes, comma-separated.")] = None,
        kind: Annotated[str | None, Query(description="Asset kinds, comma-separated.")] = None,
        rule: Annotated[str | None, Query(description="Rule ids, comma-separated.")] = None,
        assignee: Annotated[str | None, Query(description="Username.")] = None,
        suppressed: Annotated[
            str,
            Query(
                pattern="^(false|true|any)$",
                description="false (default): alarms not muted by a parent's; true: only the "
                "muted; any: both.",
            ),
        ] = "false",
    ) -> None:
        self.asset = asset
        self.state = state
        self.severity = severity
        self.commune = commune
        self.kind = kind
        self.rule = rule
        self.assignee = assignee
        self.suppressed = suppressed

    def to_filter(
        self, uow: UnitOfWork, principal: Principal, before_id: int | None
    ) -> AlarmFilter:
        communes = comma_list(self.commune)
        if communes:
            known = {c.insee for c in territory_services.list_communes(uow)}
            unknown = [c for c in communes if c not in known]
            if unknown:
                raise InvalidInput(
                    f"commune: unknown INSEE code(s) {', '.join(unknown)}", code="unknown_commune"
                )
        return AlarmFilter(
            asset_ids=id_list(self.asset, "asset"),
            states=[parse_state(s).value for s in comma_list(self.state)],
            severities=[parse_severity(s).value for s in comma_list(self.severity)],
            communes=communes,
            kinds=[parse_kind(k, "kind").value for k in comma_list(self.kind)],
            rule_ids=id_list(self.rule, "rule"),
            assignee=self.assignee.strip() if self.assignee else None,
            suppressed={"false": False, "true": True}.get(self.suppressed),
            before_id=before_id,
            scope=asset_scope(principal),
        )


@router.get(
    "/alarms",
    dependencies=[audience(*ALARM_READERS)],
    summary="Alarms, newest first, filtered and paginated",
    tags=["alarms"],
    response_model=AlarmListOut,
)
def list_alarms(
    principal: CurrentPrincipal,
    uow: UowDep,
    settings: SettingsDep,
    query: Annotated[AlarmQuery, Depends()],
    limit: Annotated[int | None, Query(ge=1, description="Page size.")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> Any:
    page_size = limit or settings.page_size_default
    if page_size > settings.page_size_max:
        raise InvalidInput(f"limit must be at most {settings.page_size_max}, got {page_size}")
    flt = query.to_filter(uow, principal, decode_cursor(cursor))
    page, last_id = services.list_alarms(uow, flt, page_size)
    return list_envelope((alarm_out(a) for a in page), encode_cursor(last_id))


@router.get(
    "/alarms/summary",
    dependencies=[audience(*ALARM_READERS)],
    summary="Open alarms by severity, under the same filters as /alarms",
    tags=["alarms"],
    response_model=AlarmSummaryOut,
)
def alarms_summary(
    principal: CurrentPrincipal, uow: UowDep, query: Annotated[AlarmQuery, Depends()]
) -> dict[str, dict[str, int]]:
    counts = services.open_counts(uow, query.to_filter(uow, principal, None))
    return {"open_by_severity": counts}


@router.get(
    "/alarms/{alarm_id}",
    dependencies=[audience(*ALARM_READERS)],
    summary="One alarm with its comments and the children's alarms it mutes",
    tags=["alarms"],
    response_model=AlarmDetailOut,
)
def get_alarm(alarm_id: ObjectId, principal: CurrentPrincipal, uow: UowDep) -> Any:
    alarm, children = services.alarm_detail(uow, alarm_id, asset_scope(principal))
    return JSONResponseFast(alarm_detail_out(alarm, children))


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    dependencies=[audience(*ACKNOWLEDGERS)],
    summary="Acknowledge an alarm (optionally with a comment): it stops escalating",
    tags=["alarms"],
    response_model=AlarmOut,
)
def acknowledge_alarm(
    alarm_id: ObjectId,
    principal: CurrentPrincipal,
    uow: WriteUowDep,
    body: AcknowledgeIn | None = None,
) -> Any:
    alarm = services.acknowledge(
        uow,
        alarm_id,
        principal.actor(),
        scope=asset_scope(principal),
        comment=body.comment if body else None,
    )
    uow.commit()
    return JSONResponseFast(alarm_out(alarm))


@router.post(
    "/alarms/{alarm_id}/clear",
    dependencies=[audience(*CLEARERS)],
    summary="Clear an alarm by hand, with a comment saying why",
    tags=["alarms"],
    response_model=AlarmOut,
)
def clear_alarm(
    alarm_id: ObjectId, principal: CurrentPrincipal, uow: WriteUowDep, body: ClearIn | None = None
) -> Any:
    alarm = services.clear(
        uow,
        alarm_id,
        (body.comment if body else None) or "",
        principal.actor(),
        scope=asset_scope(principal),
    )
    uow.commit()
    return JSONResponseFast(alarm_out(alarm))


@router.post(
    "/alarms/{alarm_id}/assign",
    dependencies=[audience(*ASSIGNERS)],
    summary="Assign an alarm to someone who can see it (null: unassign)",
    tags=["alarms"],
    response_model=AlarmOut,
)
def assign_alarm(
    alarm_id: ObjectId, body: AssignIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    alarm = services.assign(
        uow, alarm_id, body.assignee, principal.actor(), scope=asset_scope(principal)
    )
    uow.commit()
    return JSONResponseFast(alarm_out(alarm))


@router.post(
    "/alarms/{alarm_id}/comments",
    dependencies=[audience(*COMMENTERS)],
    summary="Comment on an alarm",
    tags=["alarms"],
    status_code=201,
    response_model=CommentOut,
)
def comment_alarm(
    alarm_id: ObjectId, body: CommentIn, principal: CurrentPrincipal, uow: WriteUowDep
) -> Any:
    created = services.comment(
        uow, alarm_id, body.text, principal.actor(), scope=asset_scope(principal)
    )
    uow.commit()
    return JSONResponseFast(comment_out(created), status_code=201)
