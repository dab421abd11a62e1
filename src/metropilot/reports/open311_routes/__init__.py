"""The Open311 GeoReport v2 server at ``/open311/v2``, in XML and JSON.

Citizens' apps (FixMyStreet, city apps) read the catalogue and requests and post new ones; a
back-office may push updates (FixMyStreet's ``servicerequestupdates``). The specification's rules
are kept here: the format comes from the suffix; an empty parameter counts as absent; errors are
the spec's ``errors`` list in the asked format (404 unknown jurisdiction, service, token or
request; 403 missing or invalid ``api_key``; 400 anything else); requests are read over at most
90 days and 1,000 at a time. Nothing personal ever goes out: no name, e-mail, phone, device or
account of a reporter, and reports of categories that are not public are not listed.

Posting needs an ``api_key`` (form field, query parameter or ``X-API-Key``) with the
``open311:post`` permission; pushing updates one with ``reports:update``.

The package: ``answering`` (formats, errors, parameters), ``openapi`` (what the document says),
``clients`` (api keys, rate limits), and one module of routes per resource: ``catalogue``
(discovery, services), ``posting`` and ``reading`` (requests, tokens), ``updates``, ``media``.
"""

from __future__ import annotations

from fastapi import APIRouter

from metropilot.reports.open311_routes import catalogue, media, posting, reading, updates
from metropilot.reports.open311_routes.answering import BASE, Open311Route, jurisdiction_id

__all__ = ["BASE", "jurisdiction_id", "router"]

router = APIRouter(prefix=BASE, tags=["open311"], route_class=Open311Route)
# In the order the resources were always listed in the OpenAPI document.
for resource in (catalogue, posting, reading, updates, media):
    router.include_router(resource.router)
