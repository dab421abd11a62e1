"""Hardening by default: security headers, body limits, closed CORS, no traces, offline /docs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metropilot.accounts.audience import Audience, route_audiences
from metropilot.api.errors import install_error_handlers
from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.web.apidocs import SWAGGER_UI_VERSION
from metropilot.web.app import create_app
from metropilot.web.security import (
    CONTENT_SECURITY_POLICY,
    SECURITY_HEADERS,
    RequestBodyLimitMiddleware,
    came_over_tls,
    install_security,
)

STATIC_DIR = Path(__file__).resolve().parents[2] / "src" / "metropilot" / "web" / "static"
VENDOR_DIR = STATIC_DIR / "vendor" / "swagger-ui"
EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)
HSTS = "strict-transport-security"
ALLOWED_ORIGIN = "https://gis.example.org"
OTHER_ORIGIN = "https://evil.example.com"
LIMIT = 100
BIG_PREFIX_LIMIT = 1_000


def _assert_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name) == value, (name, response.request.url)


def _chunks(total: int, size: int = 30) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b"x" * part


# ---- A tiny app for the middlewares alone ---------------------------------------------------


def _tiny_app(*, cors_origins: list[str] | None = None, hsts: bool = False) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/big/upload")
    async def upload(request: Request) -> dict[str, int]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return {"bytes": received}

    @app.post("/bigger")
    async def not_under_big(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/own-csp")
    def own_csp() -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"Content-Security-Policy": "default-src 'none'"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail from deep inside")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        def parts() -> Iterator[bytes]:
            yield from (b"a", b"b", b"c")

        return StreamingResponse(parts(), media_type="text/plain")

    install_security(
        app,
        max_body_bytes=LIMIT,
        cors_origins=cors_origins or [],
        hsts=hsts,
        limits={"/big/": BIG_PREFIX_LIMIT},
    )
    return app


@pytest.fixture
def tiny() -> TestClient:
    return TestClient(_tiny_app())


# ---- The real app ---------------------------------------------------------------------------


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("METROPILOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("METROPILOT_CORS_ORIGINS", raising=False)
    monkeypatch.setenv("METROPILOT_MAX_REQUEST_BYTES", "2048")
    platform = bootstrap(Settings())
    yield platform
    platform.close()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


# ---- Headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/api/v1/health", 200, "application/json"),
        ("/api/v1/openapi.json", 200, "application/json"),
        ("/", 200, "text/html"),
        ("/docs", 200, "text/html"),
        ("/api/v1/no-such-thing", 404, "application/json"),
        ("/no-such-page", 404, "application/json"),
        ("/static/home.css", 200, "text/css"),
        ("/static/home.js", 200, "javascript"),
        ("/static/vendor/swagger-ui/swagger-ui-bundle.js", 200, "javascript"),
        ("/static/no-such-file.css", 404, ""),
    ],
)
def test_security_headers_on_every_answer(
    client: TestClient, path: str, status: int, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert content_type in response.headers["content-type"]
    _assert_security_headers(response)
    assert HSTS not in response.headers


def test_the_content_security_policy_is_strict() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "geolocation=(self)" in dict(SECURITY_HEADERS)["Permissions-Policy"]
    assert "camera=()" in dict(SECURITY_HEADERS)["Permissions-Policy"]


def test_headers_on_a_streaming_answer(tiny: TestClient) -> None:
    response = tiny.get("/stream")
    assert response.text == "abc"
    _assert_security_headers(response)


def test_a_header_the_route_set_is_kept(tiny: TestClient) -> None:
    response = tiny.get("/own-csp")
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert response.headers["x-frame-options"] == "DENY"


def test_hsts_only_over_https(app: FastAPI) -> None:
    plain = TestClient(app).get("/api/v1/health")
    assert HSTS not in plain.headers
    secure = TestClient(app, base_url="https://testserver").get("/api/v1/health")
    assert secure.headers[HSTS] == "max-age=31536000; includeSubDomains"
    _assert_security_headers(secure)
    page = TestClient(app, base_url="https://testserver").get("/")
    assert page.headers[HSTS] == "max-age=31536000; includeSubDomains"


def test_forwarded_proto_counts_only_behind_a_trusted_proxy() -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = TestClient(_tiny_app(hsts=False)).get("/stream", headers=forwarded)
    assert HSTS not in untrusted.headers
    trusted = TestClient(_tiny_app(hsts=True))
    assert trusted.get("/stream", headers=forwarded).headers[HSTS].startswith("max-age=")
    assert HSTS not in trusted.get("/stream").headers
    assert HSTS not in trusted.get("/stream", headers={"X-Forwarded-Proto": "http"}).headers
    chain = trusted.get("/stream", headers={"X-Forwarded-Proto": "http, https"})
    assert HSTS in chain.headers


def test_came_over_tls() -> None:
    def scope(scheme: str, proto: str | None = None) -> Scope:
        headers = [] if proto is None else [(b"x-forwarded-proto", proto.encode())]
        return {"type": "http", "scheme": scheme, "headers": headers}

    assert came_over_tls(scope("https"), trust_forwarded_proto=False)
    assert came_over_tls(scope("wss"), trust_forwarded_proto=False)
    assert not came_over_tls(scope("http", "https"), trust_forwarded_proto=False)
    assert came_over_tls(scope("http", "HTTPS"), trust_forwarded_proto=True)
    assert came_over_tls(scope("http", "http, https"), trust_forwarded_proto=True)
    assert not came_over_tls(scope("http", "https, http"), trust_forwarded_proto=True)
    assert not came_over_tls(scope("http"), trust_forwarded_proto=True)


# ---- Request body limits --------------------------------------------------------------------


def _assert_too_large(response: Any, limit: int) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "payload_too_large"
    assert f"at most {limit} bytes" in body["error"]["message"]
    assert body["error"]["details"] is None
    _assert_security_headers(response)


def test_a_small_body_passes(tiny: TestClient) -> None:
    assert tiny.post("/echo", content=b"x" * LIMIT).json() == {"bytes": LIMIT}
    assert tiny.post("/echo", content=_chunks(LIMIT)).json() == {"bytes": LIMIT}
    assert tiny.post("/echo").json() == {"bytes": 0}


def test_a_too_large_content_length_is_refused(tiny: TestClient) -> None:
    response = tiny.post("/echo", content=b"x" * (LIMIT + 1))
    _assert_too_large(response, LIMIT)
    assert response.headers["connection"] == "close"


def test_a_too_large_chunked_body_is_refused(tiny: TestClient) -> None:
    response = tiny.post("/echo", content=_chunks(LIMIT * 5))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    _assert_too_large(response, LIMIT)


def test_an_invalid_content_length_is_refused(tiny: TestClient) -> None:
    response = tiny.post("/echo", content=b"{}", headers={"Content-Length": "lots"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_path_prefix_can_have_its_own_limit(tiny: TestClient) -> None:
    assert tiny.post("/big/upload", content=b"x" * 500).json() == {"bytes": 500}
    assert tiny.post("/big/upload", content=_chunks(BIG_PREFIX_LIMIT)).json() == {
        "bytes": BIG_PREFIX_LIMIT
    }
    _assert_too_large(tiny.post("/big/upload", content=b"x" * 1_001), BIG_PREFIX_LIMIT)
    _assert_too_large(tiny.post("/big/upload", content=_chunks(5_000)), BIG_PREFIX_LIMIT)
    # The prefix covers /big and what lies under it, not /bigger.
    _assert_too_large(tiny.post("/bigger", content=b"x" * 500), LIMIT)
    _assert_too_large(tiny.post("/echo", content=b"x" * 500), LIMIT)


async def _run_asgi(app: ASGIApp, chunks: Iterator[bytes], path: str = "/") -> dict[str, Any]:
    """Drives ``app`` with a body sent in chunks, without Content-Length, like a slow client."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    record: dict[str, Any] = {"reads": 0, "sent": []}

    async def receive() -> Message:
        record["reads"] += 1
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        record["sent"].append(message)

    await app(scope, receive, send)
    return record


def _endless(size: int) -> Iterator[bytes]:
    while True:
        yield b"y" * size


@pytest.mark.anyio
async def test_reading_stops_as_soon_as_the_body_passes_the_limit() -> None:
    reader_saw: list[int] = []

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            reader_saw.append(total)
            if not message.get("more_body"):
                break
        await JSONResponse({"bytes": total})(scope, receive, send)

    middleware = RequestBodyLimitMiddleware(reader, max_body_bytes=LIMIT)
    record = await _run_asgi(middleware, _endless(40))
    # 40 + 40 + 40 passes 100 at the third chunk: the endless body is not read further.
    assert record["reads"] == 3
    assert reader_saw == [40, 80]
    start, body = record["sent"]
    assert start["status"] == 413
    assert b"payload_too_large" in body["body"]

    passed = await _run_asgi(middleware, iter([b"z" * 50, b"z" * 50]))
    assert passed["sent"][0]["status"] == 200


@pytest.mark.anyio
async def test_the_limit_also_stops_a_fastapi_route_mid_body() -> None:
    record = await _run_asgi(_tiny_app(), _endless(64), path="/big/upload")
    assert record["reads"] <= BIG_PREFIX_LIMIT // 64 + 2
    assert record["sent"][0]["status"] == 413
    assert b"at most 1000 bytes" in record["sent"][-1]["body"]


def test_limits_must_be_byte_counts() -> None:
    with pytest.raises(ValueError, match="bytes"):
        RequestBodyLimitMiddleware(_tiny_app(), max_body_bytes=-1)
    with pytest.raises(ValueError, match="bytes"):
        RequestBodyLimitMiddleware(_tiny_app(), max_body_bytes=10, limits={"/x": True})


def test_the_real_app_refuses_a_body_over_the_setting(app: FastAPI) -> None:
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_api_route("/api/v1/test-echo", echo, methods=["POST"])
    client = TestClient(app)
    # Refused on its Content-Length before routing, whatever the route.
    _assert_too_large(client.post("/api/v1/health", content=b"x" * 4096), 2048)
    _assert_too_large(client.post("/api/v1/test-echo", content=b"x" * 4096), 2048)
    # Without Content-Length, refused while the route reads it.
    _assert_too_large(client.post("/api/v1/test-echo", content=_chunks(4096, 512)), 2048)
    assert client.post("/api/v1/test-echo", content=_chunks(2048, 512)).json() == {"bytes": 2048}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---- No stack traces ------------------------------------------------------------------------


def _assert_opaque_500(response: Any) -> None:
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    assert "reference" in body["error"]["message"]
    assert "Traceback" not in response.text
    assert "secret detail" not in response.text
    _assert_security_headers(response)


def test_an_error_in_a_route_gives_the_json_500(tiny: TestClient) -> None:
    response = TestClient(tiny.app, raise_server_exceptions=False).get("/boom")
    _assert_opaque_500(response)


def test_debug_is_off(app: FastAPI) -> None:
    assert app.debug is False
    debug_app = FastAPI(debug=True)
    with pytest.raises(RuntimeError, match="debug"):
        install_security(debug_app, max_body_bytes=LIMIT, cors_origins=[], hsts=False)


def test_an_error_in_the_real_app_gives_the_json_500(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("secret detail from a route")

    app.add_api_route("/api/v1/test-boom", boom)
    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/test-boom")
    _assert_opaque_500(response)


def test_an_error_in_a_middleware_gives_the_json_500(app: FastAPI) -> None:
    class Exploding:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == "/api/v1/health":
                raise RuntimeError("secret detail before routing")
            await self.inner(scope, receive, send)

    app.add_middleware(Exploding)
    client = TestClient(app, raise_server_exceptions=False)
    _assert_opaque_500(client.get("/api/v1/health"))
    assert client.get("/static/home.css").status_code == 200


def test_security_is_installed_once_and_before_serving(app: FastAPI) -> None:
    with pytest.raises(RuntimeError, match="already"):
        install_security(app, max_body_bytes=LIMIT, cors_origins=[], hsts=False)
    fresh = FastAPI()
    TestClient(fresh).get("/")  # the first request builds the middleware stack
    with pytest.raises(RuntimeError, match="before"):
        install_security(fresh, max_body_bytes=LIMIT, cors_origins=[], hsts=False)


# ---- CORS -----------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str, method: str = "GET") -> Any:
    return client.options(
        "/api/v1/health",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "Authorization, X-CSRF-Token",
        },
    )


def test_cors_is_closed_by_default(client: TestClient) -> None:
    for origin in (OTHER_ORIGIN, ALLOWED_ORIGIN, "null"):
        preflight = _preflight(client, origin)
        assert "access-control-allow-origin" not in preflight.headers
        assert "access-control-allow-credentials" not in preflight.headers
        simple = client.get("/api/v1/health", headers={"Origin": origin})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers


def test_cors_for_the_configured_origins(platform: Platform) -> None:
    platform.settings.cors_origins = [ALLOWED_ORIGIN]
    client = TestClient(create_app(platform), raise_server_exceptions=False)
    preflight = _preflight(client, ALLOWED_ORIGIN, "PATCH")
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    methods = {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PATCH", "DELETE"}
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "x-api-key", "x-csrf-token"):
        assert header in allowed
    _assert_security_headers(preflight)

    simple = client.get("/api/v1/health", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert simple.headers["access-control-allow-credentials"] == "true"

    refused = _preflight(client, OTHER_ORIGIN)
    assert "access-control-allow-origin" not in refused.headers
    assert (
        "access-control-allow-origin"
        not in client.get("/api/v1/health", headers={"Origin": OTHER_ORIGIN}).headers
    )
    # A method outside the list fails the preflight (the browser needs a 2xx listing it).
    put = _preflight(client, ALLOWED_ORIGIN, "PUT")
    assert put.status_code == 400
    assert "PUT" not in put.headers["access-control-allow-methods"]


def test_an_allowed_origin_can_read_errors_too() -> None:
    client = TestClient(_tiny_app(cors_origins=[ALLOWED_ORIGIN]), raise_server_exceptions=False)
    headers = {"Origin": ALLOWED_ORIGIN}
    too_large = client.post("/echo", content=b"x" * 500, headers=headers)
    assert too_large.status_code == 413
    assert too_large.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    crashed = client.get("/boom", headers=headers)
    _assert_opaque_500(crashed)
    assert crashed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_cors_never_allows_any_origin_with_credentials() -> None:
    with pytest.raises(ValueError, match="explicit origins"):
        install_security(FastAPI(), max_body_bytes=LIMIT, cors_origins=["*"], hsts=False)


# ---- /docs, offline and under the CSP -------------------------------------------------------


def test_the_docs_page_loads_only_local_files(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.text
    assert not EXTERNAL_URL.search(html), EXTERNAL_URL.findall(html)
    referenced = re.findall(r'(?:href|src|data-openapi-url)="([^"]+)"', html)
    assert referenced
    assert all(url.startswith(("/static/", "/api/v1/openapi.json")) for url in referenced)
    types = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for url in referenced:
        path = url.split("?", 1)[0]
        served = client.get(url)
        assert served.status_code == 200, url
        if path.startswith("/static/"):
            assert types[path.rsplit(".", 1)[1]] in served.headers["content-type"], url
    assert 'data-openapi-url="/api/v1/openapi.json"' in html
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Metropilot"
    # The CSP of the platform applies unchanged: no page-specific policy was needed.
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_docs_page_has_no_inline_script_or_style(client: TestClient) -> None:
    html = client.get("/docs").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL | re.IGNORECASE)
    sources = [re.findall(r'src="([^"?]+)', attributes) for attributes, _ in scripts]
    assert sources == [
        ["/static/vendor/swagger-ui/swagger-ui-bundle.js"],
        ["/static/vendor/swagger-ui-init.js"],
    ]
    assert all(not body.strip() for _, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert "<style" not in html.lower()
    init = client.get("/static/vendor/swagger-ui-init.js").text
    assert "SwaggerUIBundle(" in init
    assert "validatorUrl: null" in init
    assert not EXTERNAL_URL.search(init)


def test_the_docs_route_is_public_and_not_in_the_schema(app: FastAPI) -> None:
    docs = [auds for _, path, auds in route_audiences(app.routes) if path == "/docs"]
    assert docs == [frozenset({Audience.PUBLIC})]
    assert "/docs" not in TestClient(app).get("/api/v1/openapi.json").json()["paths"]


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    assert f"swagger-ui-dist {SWAGGER_UI_VERSION}" in readme
    listed = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE))
    assert set(listed) >= {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"}
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name
    on_disk = {p.name for p in VENDOR_DIR.iterdir() if p.is_file()} - {"README.md"}
    assert on_disk == set(listed)
