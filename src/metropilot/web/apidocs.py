"""The interactive API reference at ``/docs``: Swagger UI served from our own static files.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; a
deployment may be offline, and the platform's Content-Security-Policy allows neither. Here the
files are vendored under ``static/vendor/swagger-ui/`` (see the README there) and
``static/vendor/swagger-ui-init.js`` starts it, so the strict policy applies unchanged.
The app is created with ``docs_url=None`` and this module adds the page.
"""

from __future__ import annotations

from html import escape
from typing import Final

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

import metropilot
from metropilot.accounts.audience import Audience, audience

__all__ = ["DOCS_PATH", "SWAGGER_UI_VERSION", "install_api_docs", "render_docs_page"]

DOCS_PATH: Final = "/docs"
SWAGGER_UI_VERSION: Final = "5.35.0"  # the version vendored in static/vendor/swagger-ui/
VENDOR_URL: Final = "/static/vendor/swagger-ui"
INIT_SCRIPT_URL: Final = "/static/vendor/swagger-ui-init.js"

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="same-origin">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{vendor}/favicon-32x32.png">
  <link rel="stylesheet" href="{vendor}/swagger-ui.css?v={swagger_version}">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <noscript><p>The interactive reference needs JavaScript; the OpenAPI document is at
    <a href="{openapi_url}">{openapi_url}</a>.</p></noscript>
  <script src="{vendor}/swagger-ui-bundle.js?v={swagger_version}"></script>
  <script src="{init_script}?v={version}"></script>
</body>
</html>
"""


def render_docs_page(title: str, openapi_url: str) -> str:
    """The HTML of the page: no inline script or style, every URL on this origin."""
    return _PAGE.format(
        title=escape(title),
        openapi_url=escape(openapi_url),
        vendor=VENDOR_URL,
        swagger_version=SWAGGER_UI_VERSION,
        init_script=INIT_SCRIPT_URL,
        version=escape(metropilot.__version__),
    )


def install_api_docs(app: FastAPI, openapi_url: str) -> None:
    """Add ``GET /docs``; ``openapi_url`` is the app's ``openapi_url``."""
    page = render_docs_page(f"{app.title} · API reference", openapi_url)

    @app.get(
        DOCS_PATH,
        dependencies=[audience(Audience.PUBLIC)],
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)
