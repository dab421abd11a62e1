"""What the citizens' report pages share: their addresses, the names of categories, groups and
states in the page's language, the script's messages, and the headers of pages reached with a
report's token. The pages themselves are ``report_form``, ``report_track`` and ``report_map``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import Request, Response

from metropilot.reports import services as report_services
from metropilot.reports.model import Category, ReportState
from metropilot.reports.storage import FileSystemStorage
from metropilot.settings import Settings
from metropilot.shared.errors import NotFound
from metropilot.territory import services as territory_services
from metropilot.web.i18n import gettext, script_messages
from metropilot.web.rendering import API_PREFIX, NO_STORE, label

__all__ = [
    "COMMUNES_URL",
    "MAP_JSON_PATH",
    "MAP_PATH",
    "REPORT_PATH",
    "TRACK_PREFIX",
    "category_name",
    "category_or_none",
    "commune_names",
    "group_name",
    "note_text",
    "report_script_messages",
    "secret_headers",
    "state_label",
    "storage",
]

REPORT_PATH: Final = "/report"
TRACK_PREFIX: Final = "/report/track"
MAP_PATH: Final = "/reports/map"
MAP_JSON_PATH: Final = "/reports/map.json"
COMMUNES_URL: Final = f"{API_PREFIX}/communes?format=geojson"  # public, as on the home page
# The messages static/report.js needs, passed in the page's JSON data island.
SCRIPT_MESSAGE_PREFIXES: Final = ("rmap.", "report.state.")


def storage(request: Request) -> FileSystemStorage:
    settings: Settings = request.app.state.settings
    return FileSystemStorage(settings.data_dir / "photos")


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.casefold()).strip("_")


def category_name(category: Category, lang: str) -> str:
    if lang == "fr" and category.spec.name_fr.strip():
        return category.spec.name_fr
    return category.spec.name


def group_name(group: str, lang: str) -> str:
    return label(lang, f"report.group.{_slug(group)}", group)


def state_label(state: ReportState | str, lang: str) -> str:
    value = state.value if isinstance(state, ReportState) else state
    return label(lang, f"report.state.{value}", value.replace("_", " "))


def note_text(lang: str, state: str, note: str) -> str:
    """A workflow's default note in the page's language; a note an agent wrote, as written."""
    try:
        default = report_services.STATE_NOTES.get(ReportState(state))
    except ValueError:
        default = None
    if default is not None and note.strip() == default:
        return label(lang, f"report.note.{state}", note)
    return note


def report_script_messages(lang: str, metropolis: str) -> dict[str, str]:
    messages = script_messages(lang, SCRIPT_MESSAGE_PREFIXES)
    messages["rmap.outside"] = gettext(lang, "rmap.outside", metropolis=metropolis)
    return messages


def secret_headers(response: Response) -> None:
    """A page or a file reached with a report's token: not cached, not sent as a referrer."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"


def commune_names(uow: Any) -> dict[str, str]:
    return {c.insee: c.name for c in territory_services.list_communes(uow)}


def category_or_none(uow: Any, code: str) -> Category | None:
    try:
        return report_services.get_category(uow, code, active_only=False)
    except NotFound:
        return None
