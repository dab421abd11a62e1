"""Citizen reports: the catalogue, submitting (with "me too" and asset linking), following up.

Every change goes through a unit of work: the report, its public update, the audit entry, the
e-mails to send (an outbox table) and the domain event commit together. Personal data is read
and written here, and leaves only through the reporter's own tracking token or staff views.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from metropilot.assets import queries as assets_queries
from metropilot.assets.queries import LocatedAsset
from metropilot.db.uow import UnitOfWork
from metropilot.reports import repository
from metropilot.reports.model import (
    CLOSED_STATES,
    MAX_DESCRIPTION,
    OPEN_STATES,
    Category,
    CategorySpec,
    Report,
    ReportState,
    ReportStatusChanged,
    ReportSubmitted,
    ReportSupported,
    check_transition,
)
from metropilot.reports.photos import DEFAULT_PHOTO_LIMITS, PhotoLimits, store_photos
from metropilot.reports.results import Photo, PublicUpdate
from metropilot.reports.storage import PhotoStorage
from metropilot.shared.actors import Actor
from metropilot.shared.audit import AuditEntry
from metropilot.shared.clock import utcnow
from metropilot.shared.errors import Conflict, InvalidInput, NotFound
from metropilot.shared.geo import BBox, LocalPlane
from metropilot.shared.scope import ALL_WORK, WorkScope
from metropilot.territory import services as territory_services

__all__ = [
    "Report",
    "ReportQuery",
    "ReportUpdate",
    "Submission",
    "SubmitResult",
    "add_note",
    "attach_photos",
    "category_names",
    "change_state",
    "create_category",
    "get_category",
    "get_report",
    "install_categories",
    "list_categories",
    "merge",
    "query_reports",
    "report_by_token",
    "submit",
    "update_category",
    "updates_between",
]

STATE_NOTES = {
    ReportState.NEW: "Report received.",
    ReportState.TRIAGED: "Report checked and passed to the team in charge.",
    ReportState.IN_PROGRESS: "Work in progress.",
    ReportState.ACTION_SCHEDULED: "Work scheduled.",
    ReportState.REOPENED: "Report reopened.",
    ReportState.FIXED: "Fixed.",
    ReportState.DUPLICATE: "Already reported: merged with an earlier report.",
    ReportState.NOT_OUR_RESPONSIBILITY: "Not the metropolis's responsibility: passed on.",
    ReportState.NO_FURTHER_ACTION: "Looked at: no further action needed.",
    ReportState.CANCELLED: "Cancelled.",
}


# --- the catalogue -----------------------------------------------------------------------------


def install_categories(uow: UnitOfWork, specs: Sequence[CategorySpec], actor: Actor) -> int:
    """Add the categories that do not exist yet (by code); returns how many were added."""
    existing = {c.code for c in repository.list_categories(uow.connection, include_inactive=True)}
    added = 0
    now = utcnow()
    for spec in specs:
        if spec.code in existing:
            continue
        repository.insert_category(uow.connection, spec, now)
        uow.audit(AuditEntry(actor, "report_category.created", "report_category", spec.code))
        added += 1
    return added


def list_categories(uow: UnitOfWork, *, include_inactive: bool = False) -> list[Category]:
    return repository.list_categories(uow.connection, include_inactive=include_inactive)


def category_names(uow: UnitOfWork) -> dict[str, tuple[str, str]]:
    return repository.category_names(uow.connection)


def get_category(uow: UnitOfWork, code: str, *, active_only: bool = True) -> Category:
    found = repository.category_by_code(uow.connection, code)
    if found is None or (active_only and not found.spec.active):
        raise NotFound(f"no report category {code!r}", code="unknown_category")
    return found


def create_category(uow: UnitOfWork, spec: CategorySpec, actor: Actor) -> Category:
    if repository.category_by_code(uow.connection, spec.code) is not None:
        raise Conflict(f"a category {spec.code!r} exists already", code="category_exists")
    _check_kind(spec)
    repository.insert_category(uow.connection, spec, utcnow())
    uow.audit(AuditEntry(actor, "report_category.created", "report_category", spec.code))
    return get_category(uow, spec.code, active_only=False)


def update_category(uow: UnitOfWork, code: str, spec: CategorySpec, actor: Actor) -> Category:
    before = get_category(uow, code, active_only=False)
    if spec.code != code:
        raise InvalidInput("a category's code cannot change (client apps keep it)")
    _check_kind(spec)
    repository.update_category(uow.connection, code, spec, utcnow())
    changes = {
        name: [value, getattr(spec, name)]
        for name, value in before.spec
        if value != getattr(spec, name) and name != "attributes"
    }
    if before.spec.attributes != spec.attributes:
        changes["attributes"] = [len(before.spec.attributes), len(spec.attributes)]
    uow.audit(
        AuditEntry(actor, "report_category.updated", "report_category", code, _plain(changes))
    )
    return get_category(uow, code, active_only=False)


def _check_kind(spec: CategorySpec) -> None:
    from metropilot.assets.model import AssetKind

    if spec.asset_kind is not None and spec.asset_kind not in {k.value for k in AssetKind}:
        known = ", ".join(k.value for k in AssetKind)
        raise InvalidInput(f"unknown asset kind {spec.asset_kind!r}; one of {known}")


def _plain(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {k: [getattr(v, "value", v) for v in pair] for k, pair in changes.items()}


# --- submitting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submission:
    """A report as a citizen or a client app sends it, already parsed."""

    category_code: str
    lon: float
    lat: float
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    address: str = ""
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: int | None = None
    client_id: int | None = None  # the API key of the app
    allow_me_too: bool = True


@dataclass(frozen=True, slots=True)
class SubmitResult:
    report: Report
    me_too: bool  # the citizen now supports an existing report instead of a new one
    notice: str


def submit(
    uow: UnitOfWork, submission: Submission, actor: Actor, *, scope: WorkScope = ALL_WORK
) -> SubmitResult:
    """File a report, or add the citizen's support to an open one of the same category close
    by; link it to the matching equipment nearby. ``scope`` is where the client app posting
    it may report (its key's ``open311:post commune=…``): a place outside it is answered as a
    place outside the metropolis is."""
    category = get_category(uow, submission.category_code)
    spec = category.spec
    if len(submission.description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"the description has {len(submission.description)} characters; at most "
            f"{MAX_DESCRIPTION}",
            code="description_too_long",
        )
    commune = _commune_within(uow, submission, scope)
    now = utcnow()
    if submission.allow_me_too and spec.duplicate_radius_m > 0:
        existing = _nearest_open(uow, category, submission.lon, submission.lat)
        if existing is not None:
            return _support(uow, existing, submission, actor, now)
    asset = _matching_asset(uow, category, submission.lon, submission.lat)
    asset_id = None if asset is None else asset.id
    values = _new_report_values(spec, submission, commune, asset_id, now)
    report_id = repository.insert_report(uow.connection, values)
    _public_update(uow, report_id, ReportState.NEW, STATE_NOTES[ReportState.NEW], actor, now)
    uow.audit(
        AuditEntry(
            actor,
            "report.submitted",
            "report",
            str(report_id),
            {"category": [None, spec.code], "commune": [None, commune]},
        )
    )
    uow.record(
        ReportSubmitted(
            report_id=report_id,
            category_code=spec.code,
            priority=spec.default_priority.value,
            commune_insee=commune,
            asset_id=asset_id,
            maintainer_id=None if asset is None else asset.maintainer_id,
            opens_case=spec.opens_case,
        )
    )
    report = get_report(uow, report_id)
    if report.email:
        _notify(uow, report, report.email, "received", now)
    return SubmitResult(report, False, "")


def _commune_within(uow: UnitOfWork, submission: Submission, scope: WorkScope) -> str:
    """The commune of the report's place, which must be inside the metropolis and the scope."""
    commune = territory_services.locator(uow).locate(submission.lon, submission.lat)
    if commune is None or not scope.allows(commune, None):
        where = "the metropolis" if scope.communes is None else "the communes of this client"
        raise InvalidInput(
            f"the location {submission.lat:.6f}, {submission.lon:.6f} is outside {where}",
            code="outside_metropolis",
        )
    return commune


def _new_report_values(
    spec: CategorySpec, submission: Submission, commune: str, asset_id: int | None, now: datetime
) -> dict[str, Any]:
    """The row of a new report: its state, place, answers, token and reporter's contact."""
    return {
        "category_code": spec.code,
        "state": ReportState.NEW.value,
        "priority": spec.default_priority.value,
        "lon": submission.lon,
        "lat": submission.lat,
        "commune_insee": commune,
        "address": submission.address[:300],
        "description": submission.description,
        "attributes": submission.attributes,
        "asset_id": asset_id,
        "token": secrets.token_urlsafe(16),
        "status_notes": STATE_NOTES[ReportState.NEW],
        "agency_responsible": "",
        "service_notice": "",
        "expected_at": None,
        "requested_at": now,
        "updated_at": now,
        "closed_at": None,
        "duplicate_of": None,
        "supporters": 0,
        "client_id": submission.client_id,
        "email": _clean_email(submission.email),
        "first_name": _clean(submission.first_name, 100),
        "last_name": _clean(submission.last_name, 100),
        "phone": _clean(submission.phone, 40),
        "device_id": _clean(submission.device_id, 100),
        "account_id": submission.account_id,
        "personal_data_erased_at": None,
    }


def _nearest_open(uow: UnitOfWork, category: Category, lon: float, lat: float) -> Report | None:
    radius = category.spec.duplicate_radius_m
    box = BBox.around(lon, lat, radius)
    candidates = repository.open_reports_near(
        uow.connection, category.code, (box.min_lon, box.max_lon), (box.min_lat, box.max_lat)
    )
    plane = LocalPlane(lon, lat)
    scored = [(plane.distance_m(lon, lat, r.lon, r.lat), r.id, r) for r in candidates]
    inside = [item for item in scored if item[0] <= radius and item[2].duplicate_of is None]
    return min(inside)[2] if inside else None


def _matching_asset(
    uow: UnitOfWork, category: Category, lon: float, lat: float
) -> LocatedAsset | None:
    """The nearest asset of the category's kind within its radius, if any."""
    kind, radius = category.spec.asset_kind, category.spec.asset_radius_m
    if kind is None or radius <= 0:
        return None
    nearby = assets_queries.assets_in_service_within(
        uow.connection, kind, BBox.around(lon, lat, radius)
    )
    plane = LocalPlane(lon, lat)
    scored = [(plane.distance_m(lon, lat, a.lon, a.lat), a.id, a) for a in nearby]
    inside = [item for item in scored if item[0] <= radius]
    return min(inside)[2] if inside else None


def _maintainer(uow: UnitOfWork, asset_id: int | None) -> int | None:
    """The maintainer of a report's equipment, for the report's events."""
    return None if asset_id is None else assets_queries.maintainer_of(uow.connection, asset_id)


def _support(
    uow: UnitOfWork, report: Report, submission: Submission, actor: Actor, now: datetime
) -> SubmitResult:
    supporters = report.supporters + 1
    repository.update_report(
        uow.connection, report.id, {"supporters": supporters, "updated_at": now}
    )
    email = _clean_email(submission.email)
    if email and email != report.email:
        _follow(uow, report.id, email, now)
    uow.audit(
        AuditEntry(
            actor,
            "report.supported",
            "report",
            str(report.id),
            {"supporters": [supporters - 1, supporters]},
        )
    )
    uow.record(
        ReportSupported(
            report_id=report.id,
            category_code=report.category_code,
            priority=report.priority.value,
            commune_insee=report.commune_insee,
            asset_id=report.asset_id,
            maintainer_id=_maintainer(uow, report.asset_id),
            supporters=supporters,
        )
    )
    notice = f"Already reported (report {report.id}): your report was added to it as support" + (
        ", and you will hear of its progress." if email else "."
    )
    return SubmitResult(get_report(uow, report.id), True, notice)


def _follow(uow: UnitOfWork, report_id: int, email: str, now: datetime) -> None:
    f = repository.report_followers.c
    exists = uow.connection.execute(
        select(func.count()).where(and_(f.report_id == report_id, f.email == email))
    ).scalar_one()
    if not exists:
        uow.connection.execute(
            repository.report_followers.insert(),
            {"report_id": report_id, "email": email, "since": now},
        )


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:limit] or None


def _clean_email(value: str | None) -> str | None:
    value = _clean(value, 254)
    if value is None:
        return None
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise InvalidInput(f"{value!r} is not an e-mail address", code="bad_email")
    return value


# --- photos ------------------------------------------------------------------------------------


def attach_photos(
    uow: UnitOfWork,
    report_id: int,
    photos: Sequence[bytes],
    storage: PhotoStorage,
    limits: PhotoLimits = DEFAULT_PHOTO_LIMITS,
) -> list[Photo]:
    """Check, clean (EXIF gone) and store photos of a report: all of them, or none.

    The files are written before the rows that point at them: a crash in between leaves an
    unreferenced file, never a row without its file."""
    if not photos:
        return []
    report = get_report(uow, report_id, for_update=True)
    stored = store_photos(
        storage, str(report_id), photos, limits, already_stored=len(report.photos)
    )
    now = utcnow()
    for photo in stored:
        repository.insert_photo(
            uow.connection,
            {
                "report_id": report_id,
                "position": photo.number,
                "storage_key": photo.key,
                "thumbnail_key": photo.thumbnail_key,
                "content_type": photo.content_type,
                "width": photo.width,
                "height": photo.height,
                "sha256": photo.sha256,
                "created_at": now,
            },
        )
    return [_photo(row) for row in get_report(uow, report_id).photos]


def _photo(row: Mapping[str, Any]) -> Photo:
    return {
        "id": row["id"],
        "report_id": row["report_id"],
        "position": row["position"],
        "storage_key": row["storage_key"],
        "thumbnail_key": row["thumbnail_key"],
        "content_type": row["content_type"],
        "width": row["width"],
        "height": row["height"],
        "sha256": row["sha256"],
        "created_at": row["created_at"],
    }


# --- following up ------------------------------------------------------------------------------


def change_state(
    uow: UnitOfWork,
    report_id: int,
    target: ReportState,
    actor: Actor,
    *,
    note: str = "",
    agency_responsible: str | None = None,
    expected_at: datetime | None = None,
    now: datetime | None = None,
    scope: WorkScope = ALL_WORK,
) -> Report:
    """Move a report on; a public note says why (a default one when none is given), the
    reporter and the followers are told."""
    report = get_report(uow, report_id, for_update=True, scope=scope)
    check_transition(report.state, target)
    if target is ReportState.DUPLICATE:
        raise InvalidInput("mark a duplicate by merging it into the original", code="use_merge")
    now = now or utcnow()
    note = (note or STATE_NOTES[target]).strip()
    if len(note) > 2000:
        raise InvalidInput("a note has at most 2,000 characters")
    values: dict[str, Any] = {"state": target.value, "status_notes": note, "updated_at": now}
    if target in CLOSED_STATES:
        values["closed_at"] = now
    elif report.state in CLOSED_STATES:  # reopened
        values["closed_at"] = None
    if agency_responsible is not None:
        values["agency_responsible"] = agency_responsible[:200]
    if expected_at is not None:
        values["expected_at"] = expected_at
    repository.update_report(uow.connection, report_id, values)
    _public_update(uow, report_id, target, note, actor, now)
    uow.audit(
        AuditEntry(
            actor,
            "report.state_changed",
            "report",
            str(report_id),
            {"state": [report.state.value, target.value]},
        )
    )
    uow.record(
        ReportStatusChanged(
            report_id=report_id,
            category_code=report.category_code,
            priority=report.priority.value,
            commune_insee=report.commune_insee,
            asset_id=report.asset_id,
            maintainer_id=_maintainer(uow, report.asset_id),
            previous=report.state.value,
            state=target.value,
            note=note,
        )
    )
    changed = get_report(uow, report_id)
    _notify_all(uow, changed, "changed", now)
    return changed


def add_note(
    uow: UnitOfWork, report_id: int, note: str, actor: Actor, *, scope: WorkScope = ALL_WORK
) -> Report:
    """A public note without a change of state (a back-office's progress message)."""
    report = get_report(uow, report_id, for_update=True, scope=scope)
    note = note.strip()
    if not note:
        raise InvalidInput("a note needs some text")
    if len(note) > 2000:
        raise InvalidInput("a note has at most 2,000 characters")
    now = utcnow()
    repository.update_report(uow.connection, report_id, {"status_notes": note, "updated_at": now})
    _public_update(uow, report_id, report.state, note, actor, now)
    uow.audit(AuditEntry(actor, "report.noted", "report", str(report_id)))
    changed = get_report(uow, report_id)
    _notify_all(uow, changed, "changed", now)
    return changed


def merge(
    uow: UnitOfWork,
    duplicate_id: int,
    into_id: int,
    actor: Actor,
    *,
    scope: WorkScope = ALL_WORK,
) -> Report:
    """Close a report as a duplicate of another: its support and followers move over. Both
    are looked up within the caller's scope."""
    duplicate = get_report(uow, duplicate_id, for_update=True, scope=scope)
    original = get_report(uow, into_id, for_update=True, scope=scope)
    if duplicate_id == into_id:
        raise InvalidInput("a report cannot be merged into itself")
    if original.duplicate_of is not None:
        raise Conflict(
            f"report {into_id} is itself a duplicate of {original.duplicate_of}: merge into that"
        )
    if duplicate.state in CLOSED_STATES:
        raise Conflict(f"report {duplicate_id} is closed already", code="report_closed")
    now = utcnow()
    note = f"Already reported: followed up as report {into_id}."
    repository.update_report(
        uow.connection,
        duplicate_id,
        {
            "state": ReportState.DUPLICATE.value,
            "duplicate_of": into_id,
            "status_notes": note,
            "updated_at": now,
            "closed_at": now,
        },
    )
    repository.update_report(
        uow.connection,
        into_id,
        {"supporters": original.supporters + duplicate.supporters + 1, "updated_at": now},
    )
    for email in [duplicate.email, *_followers(uow, duplicate_id)]:
        if email and email != original.email:
            _follow(uow, into_id, email, now)
    _public_update(uow, duplicate_id, ReportState.DUPLICATE, note, actor, now)
    uow.audit(
        AuditEntry(
            actor,
            "report.merged",
            "report",
            str(duplicate_id),
            {"duplicate_of": [None, into_id], "state": [duplicate.state.value, "duplicate"]},
        )
    )
    uow.record(
        ReportStatusChanged(
            report_id=duplicate_id,
            category_code=duplicate.category_code,
            priority=duplicate.priority.value,
            commune_insee=duplicate.commune_insee,
            asset_id=duplicate.asset_id,
            maintainer_id=_maintainer(uow, duplicate.asset_id),
            previous=duplicate.state.value,
            state=ReportState.DUPLICATE.value,
            note=note,
        )
    )
    merged = get_report(uow, duplicate_id)
    _notify_all(uow, merged, "changed", now)
    return merged


def _public_update(
    uow: UnitOfWork, report_id: int, state: ReportState, note: str, actor: Actor, now: datetime
) -> None:
    repository.insert_update(
        uow.connection,
        {
            "report_id": report_id,
            "at": now,
            "state": state.value,
            "description": note,
            "public": True,
            "actor": actor.label(),
            "sector": actor.sector or "public",
        },
    )


def _followers(uow: UnitOfWork, report_id: int) -> list[str]:
    f = repository.report_followers.c
    return [
        str(e) for (e,) in uow.connection.execute(select(f.email).where(f.report_id == report_id))
    ]


def _notify_all(uow: UnitOfWork, report: Report, what: str, now: datetime) -> None:
    recipients = [report.email, *_followers(uow, report.id)]
    for email in dict.fromkeys(e for e in recipients if e):
        _notify(uow, report, email, what, now)


def _notify(uow: UnitOfWork, report: Report, email: str, what: str, now: datetime) -> None:
    from metropilot.reports.mail import compose

    subject, body = compose(report, what)
    uow.connection.execute(
        repository.report_notifications.insert(),
        {
            "report_id": report.id,
            "recipient": email,
            "subject": subject,
            "body": body,
            "created_at": now,
            "sent_at": None,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
        },
    )


# --- reading -----------------------------------------------------------------------------------


def get_report(
    uow: UnitOfWork, report_id: int, *, for_update: bool = False, scope: WorkScope = ALL_WORK
) -> Report:
    """One report; outside the caller's scope it does not exist (the same 404, reads and
    writes alike)."""
    found = repository.report_by_id(uow.connection, report_id, for_update=for_update, scope=scope)
    if found is None:
        raise NotFound(f"no report {report_id}", code="unknown_report")
    found.photos = repository.photos_of(uow.connection, [report_id]).get(report_id, [])
    return found


def report_by_token(uow: UnitOfWork, token: str) -> Report:
    found = repository.report_by_token(uow.connection, token) if token else None
    if found is None:
        raise NotFound("no report for this token", code="unknown_token")
    found.photos = repository.photos_of(uow.connection, [found.id]).get(found.id, [])
    return found


@dataclass(frozen=True, slots=True)
class ReportQuery:
    ids: Sequence[int] = ()
    category_codes: Sequence[str] = ()
    states: Sequence[ReportState] = ()
    start: datetime | None = None
    end: datetime | None = None
    communes: Sequence[str] | None = None  # None: every commune
    public_only: bool = False  # only categories shown publicly
    offset: int = 0
    limit: int = 1000


def query_reports(uow: UnitOfWork, q: ReportQuery) -> list[Report]:
    r = repository.reports.c
    query = select(repository.reports)
    if q.ids:
        query = query.where(r.id.in_(list(q.ids)))
    else:
        if q.category_codes:
            query = query.where(r.category_code.in_(list(q.category_codes)))
        if q.states:
            query = query.where(r.state.in_([s.value for s in q.states]))
        if q.start is not None:
            query = query.where(r.requested_at >= q.start)
        if q.end is not None:
            query = query.where(r.requested_at <= q.end)
    if q.communes is not None:
        query = query.where(r.commune_insee.in_(list(q.communes)))
    if q.public_only:
        c = repository.categories.c
        query = query.where(
            r.category_code.in_(select(c.code).where(c.public))  # scoping in the query
        )
    query = query.order_by(r.requested_at.desc(), r.id.desc()).offset(q.offset).limit(q.limit)
    found = [repository.report_from_row(row) for row in uow.connection.execute(query).mappings()]
    photos = repository.photos_of(uow.connection, [f.id for f in found])
    for report in found:
        report.photos = photos.get(report.id, [])
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportUpdate:
    """One public update of a report: its state then and the note that went with it."""

    id: int
    report_id: int
    at: datetime
    state: ReportState
    description: str


def updates_between(
    uow: UnitOfWork, start: datetime, end: datetime, *, public_only: bool = True, limit: int = 1000
) -> list[ReportUpdate]:
    """Public updates of reports in a time window, oldest first (FixMyStreet's extension)."""
    u, r = repository.report_updates.c, repository.reports.c
    query = (
        select(u.id, u.report_id, u.at, u.state, u.description)
        .join(repository.reports, r.id == u.report_id)
        .where(and_(u.at >= start, u.at <= end, u.public))
        .order_by(u.at, u.id)
        .limit(limit)
    )
    if public_only:
        c = repository.categories.c
        query = query.where(r.category_code.in_(select(c.code).where(c.public)))
    return [
        ReportUpdate(
            id=int(row.id),
            report_id=int(row.report_id),
            at=row.at,
            state=ReportState(row.state),
            description=str(row.description or ""),
        )
        for row in uow.connection.execute(query)
    ]


def timeline(uow: UnitOfWork, report_id: int) -> list[PublicUpdate]:
    u = repository.report_updates.c
    query = (
        select(u.at, u.state, u.description)
        .where(and_(u.report_id == report_id, u.public))
        .order_by(u.at, u.id)
    )
    return [
        {"at": row.at, "state": row.state, "description": row.description}
        for row in uow.connection.execute(query)
    ]


def open_count_since(uow: UnitOfWork, since: timedelta) -> int:
    r = repository.reports.c
    return int(
        uow.connection.execute(
            select(func.count()).where(
                or_(
                    r.state.in_([s.value for s in OPEN_STATES]),
                    r.updated_at >= utcnow() - since,
                )
            )
        ).scalar_one()
    )


# --- the case a report is part of was resolved (called by the cases context's wiring) ---------


def resolve_for_case(
    uow: UnitOfWork, report_ids: Sequence[int], actor: Actor, *, note: str, now: datetime
) -> list[int]:
    """The reports of a resolved case that are still open become fixed, with ``note`` for their
    reporters and followers (who are told, as for any change of state). Reports closed or
    merged meanwhile stay as they are, so calling it again changes nothing (each report is
    locked before it is looked at: two callers at once fix it once). Returns the reports it
    fixed."""
    fixed = []
    for report_id in report_ids:
        if not get_report(uow, report_id, for_update=True).is_open:
            continue
        change_state(uow, report_id, ReportState.FIXED, actor, note=note, now=now)
        fixed.append(report_id)
    return fixed
