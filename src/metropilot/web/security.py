"""Hardening by default: security headers, request body limits, closed CORS, no stack traces.

Everything here is plain ASGI, never ``BaseHTTPMiddleware``: that one buffers streaming
responses (GeoJSON exports, imports with progress) and runs the app in another task.

The layers, outermost first::

    SecurityHeadersMiddleware      headers on every answer, the 500s of ServerErrorMiddleware too
    CORSMiddleware                 only when origins are configured
    ServerErrorMiddleware          FastAPI's: the JSON 500 of api.errors, never a trace
    RequestBodyLimitMiddleware     413 before or while the body arrives
    ...other middlewares, the exception handlers, the routes

``ServerErrorMiddleware`` is always the outermost layer FastAPI builds, so the headers and CORS
wrap the built stack (``install_security`` extends ``build_middleware_stack``): a 500 carries
them like any other answer, and a browser may read it from an allowed origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final, Literal

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metropilot.api.errors import error_response
from metropilot.reports.open311 import ErrorEntry, render_errors

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CORS_ALLOWED_HEADERS",
    "CORS_ALLOWED_METHODS",
    "HSTS",
    "PERMISSIONS_POLICY",
    "SECURITY_HEADERS",
    "RequestBodyLimitMiddleware",
    "SecurityHeadersMiddleware",
    "came_over_tls",
    "install_security",
]

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Location for the citizen report page, on this origin only; every other powerful feature off.
PERMISSIONS_POLICY: Final = ", ".join(
    (
        "geolocation=(self)",
        "camera=()",
        "microphone=()",
        "display-capture=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "hid=()",
        "midi=()",
        "accelerometer=()",
        "gyroscope=()",
        "magnetometer=()",
        "screen-wake-lock=()",
        "xr-spatial-tracking=()",
        "browsing-topics=()",
    )
)
SECURITY_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS: Final = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

CORS_ALLOWED_METHODS: Final = ("GET", "POST", "PATCH", "DELETE")
CORS_ALLOWED_HEADERS: Final = ("Authorization", "Content-Type", "X-API-Key", "X-CSRF-Token")
CORS_MAX_AGE_S: Final = 600

_INSTALLED: Final = "metropilot_security_installed"


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def came_over_tls(scope: Scope, *, trust_forwarded_proto: bool) -> bool:
    """Whether the request reached the platform over TLS (``request.scope`` of a route works).

    True when the ASGI scheme is ``https``: uvicorn terminated TLS itself, or rewrote the scheme
    from the ``X-Forwarded-Proto`` of a proxy it trusts (``FORWARDED_ALLOW_IPS``, loopback by
    default). With ``trust_forwarded_proto`` (a TLS-terminating proxy is the only way in), also
    when ``X-Forwarded-Proto`` says ``https``; with several proxies, the last value counts: it
    is the one the nearest proxy, ours, wrote.
    """
    if scope.get("scheme") in ("https", "wss"):
        return True
    if not trust_forwarded_proto:
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.rsplit(",", 1)[-1].strip().lower() == "https"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer, keeping any a route set itself.

    ``Strict-Transport-Security`` only goes on answers to requests that came over TLS (see
    ``came_over_tls``). Browsers ignore HSTS received over plain HTTP, so a forged
    ``X-Forwarded-Proto`` gains an attacker nothing.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        headers: Iterable[tuple[str, str]] = SECURITY_HEADERS,
        trust_forwarded_proto: bool = False,
    ) -> None:
        self.app = app
        self.headers = _encoded(headers)
        self.hsts = _encoded([HSTS])[0]
        self.trust_forwarded_proto = trust_forwarded_proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = came_over_tls(scope, trust_forwarded_proto=self.trust_forwarded_proto)
        extra = [*self.headers, self.hsts] if over_tls else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    """Raised into the app by ``receive`` when a body without Content-Length grows too big."""


def _refusal(scope: Scope, status: int, code: str, message: str) -> Response:
    """The error body a refused request gets: the Open311 ``errors`` document on an Open311
    URL (XML unless it ends in .json, as its routes answer), the API's JSON error elsewhere."""
    path: str = scope.get("path", "")
    if path.startswith("/open311/"):
        fmt: Literal["xml", "json"] = "json" if path.endswith(".json") else "xml"
        rendered = render_errors([ErrorEntry(status, message)], fmt)
        return Response(rendered.body, status, media_type=rendered.media_type)
    return error_response(status, code, message)


class RequestBodyLimitMiddleware:
    """Refuses request bodies over a limit with 413 and the platform's JSON error.

    The limit is ``max_body_bytes``, or the one of the longest ``limits`` prefix matching the
    path (``/api/v1/assets/import`` covers ``/api/v1/assets/import`` and what lies under it).
    A ``Content-Length`` over the limit is refused before anything is read; a body without one
    (chunked) is counted as it arrives, and ``receive`` stops the app once it passes the limit.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, limits: Mapping[str, int] | None = None
    ) -> None:
        for value in (max_body_bytes, *(limits or {}).values()):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"a body limit is a number of bytes >= 0, not {value!r}")
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Longest prefix first, so the most specific one wins.
        self.limits = sorted(
            ((prefix.rstrip("/") or "/", limit) for prefix, limit in (limits or {}).items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_body_bytes

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = _refusal(
            scope,
            413,
            "payload_too_large",
            f"the request body is too large: at most {limit} bytes are accepted here",
        )
        # The rest of the body is never read: the connection cannot carry another request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                response = _refusal(scope, 400, "invalid_input", "invalid Content-Length header")
                await response(scope, receive, send)
                return
            if length > limit:
                await self._refuse(scope, receive, send, limit)
                return

        received = 0
        exceeded = False
        response_started = False

        async def receive_with_limit() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def send_unless_exceeded(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                # Whatever the app made of the interrupted body (FastAPI turns it into a 400),
                # the answer is the 413 below.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_with_limit, send_unless_exceeded)
        except Exception:
            # _BodyTooLarge itself, or what the app or a task group made of it.
            if not exceeded or response_started:
                raise
        if exceeded and not response_started:
            await self._refuse(scope, receive, send, limit)


class RejectNulBytesMiddleware:
    """Refuse a NUL character in the path or the query (``%00``) before any route sees it.

    No legitimate identifier, filter or code contains one, and PostgreSQL cannot store it in text:
    refusing it here gives a clear 400 instead of a database error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope.get("path", "")
            if (
                b"%00" in query
                or b"\x00" in query
                or "\x00" in path
                or "%00" in scope.get("raw_path", b"").decode("latin-1")
            ):
                response = _refusal(
                    scope, 400, "invalid_input", "a NUL character is not allowed in a URL"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _wrap_outside_error_middleware(app: FastAPI, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
    build_stack = app.build_middleware_stack

    def build_wrapped_stack() -> ASGIApp:
        return wrap(build_stack())

    app.build_middleware_stack = build_wrapped_stack  # type: ignore[method-assign]


def install_security(
    app: FastAPI,
    *,
    max_body_bytes: int,
    cors_origins: list[str],
    hsts: bool,
    limits: Mapping[str, int] | None = None,
) -> None:
    """Add the security layers to ``app``; call it once, before the app serves.

    ``max_body_bytes``: the largest request body anywhere; ``limits`` raises (or lowers) it for
    path prefixes, e.g. ``{"/api/v1/assets/import": 200 * 1024 * 1024}``.
    ``cors_origins``: origins allowed to call the API from a browser; empty means no CORS.
    ``hsts``: the platform is behind a trusted TLS-terminating proxy, so ``X-Forwarded-Proto:
    https`` counts as TLS for ``Strict-Transport-Security`` (HTTPS seen by the ASGI server always
    does).
    """
    if app.middleware_stack is not None:
        raise RuntimeError("install_security must run before the application starts")
    if getattr(app.state, _INSTALLED, False):
        raise RuntimeError("install_security was already called on this application")
    if app.debug:
        raise RuntimeError("debug mode shows tracebacks to clients; it must stay off")
    origins = [origin.strip().rstrip("/") for origin in cors_origins if origin.strip()]
    if "*" in origins:
        raise ValueError("CORS with credentials needs explicit origins, not '*'")
    setattr(app.state, _INSTALLED, True)

    app.add_middleware(RequestBodyLimitMiddleware, max_body_bytes=max_body_bytes, limits=limits)
    app.add_middleware(RejectNulBytesMiddleware)

    def outer_layers(stack: ASGIApp) -> ASGIApp:
        if origins:
            stack = CORSMiddleware(
                stack,
                allow_origins=origins,
                allow_credentials=True,
                allow_methods=CORS_ALLOWED_METHODS,
                allow_headers=CORS_ALLOWED_HEADERS,
                max_age=CORS_MAX_AGE_S,
            )
        return SecurityHeadersMiddleware(stack, trust_forwarded_proto=hsts)

    _wrap_outside_error_middleware(app, outer_layers)
