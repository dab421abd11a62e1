"""The citizens' pages of the reports: send a report from a phone, follow it, see the open ones.

``GET /report``, ``POST /report``
    The form and its submission (``web.report_form``).
``GET /report/track/{token}``, ``GET /report/track/{token}/photos/{name}``
    The reporter's view of the report and its photos (``web.report_track``).
``GET /reports/map`` and ``GET /reports/map.json``
    The open reports of public categories (``web.report_map``).

No inline script: the page's data travel in ``data-*`` attributes and a JSON data island
(``<script type="application/json">`` is never executed, so the CSP allows it).
"""

from __future__ import annotations

from fastapi import APIRouter

from metropilot.web.report_form import router as form_router
from metropilot.web.report_map import router as map_router
from metropilot.web.report_track import router as track_router

__all__ = ["router"]

router = APIRouter()
router.include_router(form_router)
router.include_router(track_router)
router.include_router(map_router)
