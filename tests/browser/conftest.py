"""Browser test fixtures: the real app over HTTP, a headless Chromium, screenshots, page logs.

Chromium is Debian's (``apt-get install chromium``) at ``/usr/bin/chromium``, or the one named by
``METROPILOT_CHROMIUM``; Playwright drives it through ``executable_path`` (``playwright install``
is never needed). Without it the browser tests skip with the reason, except in CI (``CI=true``)
where they fail: ``.ci/run`` installs it. Chromium, Playwright and the server live as long as
this package's tests (``scope="package"``): the rest of the suite never runs beside them.

The app runs in uvicorn on a free loopback port, in a background thread, on its own SQLite
database holding a small synthetic metropolis and the test accounts of ``tests.factories`` (SQLite
only: the pages do not depend on the database, the API tests cover both).

Every page a test opens is screenshotted when the test ends, passed or failed, into
``test-artifacts/screenshots/<test name>.png`` at the repository root (CI keeps the folder). Its
JavaScript errors, console errors and failed requests are recorded in a ``PageLog``: a test whose
page logged an error fails (in its teardown, if the test did not look itself).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import Actor, ActorKind
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.factories import PASSWORD, create_world_accounts

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ENV = "METROPILOT_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
BROWSER_SCALE = 0.05  # as the `world` fixture: a few thousand pieces of equipment
BROWSER_SEED = 7
TIMEOUT_MS = 15_000  # generous for 2 busy cores; a healthy page answers in well under a second
SERVER_START_S = 30.0


# ---- Chromium ------------------------------------------------------------------------------------


def chromium_path() -> str | None:
    """The Chromium to drive: ``$METROPILOT_CHROMIUM``, else Debian's, else nothing."""
    wanted = os.environ.get(CHROMIUM_ENV, "").strip() or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return found if found and os.access(found, os.X_OK) else None


def chromium_args() -> list[str]:
    args = [
        # Containers often have a small /dev/shm; Chromium then crashes on big pages.
        "--disable-dev-shm-usage",
        # No first-run, update or field-trial traffic: the only host is the test server.
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-field-trial-config",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return args


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


def real_clock_environment() -> dict[str, str]:
    """This process's environment without libfaketime's variables.

    In the moved-clock run (docs/development.md) Chromium keeps the real clock: under
    libfaketime its pages never finish loading (it shifts the deadlines Chromium's threads wait
    for on the monotonic clock). The server under test runs on the moved clock; the pages show
    the times it sends."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FAKETIME") and name != "LD_PRELOAD"
    }


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium for the browser tests: skip without it, fail without it in CI."""
    path = chromium_path()
    if path is None:
        where = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
        reason = (
            f"Chromium not found at {where} (apt-get install chromium, or set {CHROMIUM_ENV} "
            "to a Chromium executable)"
        )
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the browser tests)")
        pytest.skip(reason)
    browser = playwright.chromium.launch(
        executable_path=path,
        headless=True,
        args=chromium_args(),
        timeout=60_000,
        env=real_clock_environment(),
    )
    yield browser
    browser.close()


# ---- The app over HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A small synthetic metropolis with the test accounts, on SQLite."""
    data = tmp_path_factory.mktemp("browser-world")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'metropilot.db'}",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        login_attempts_per_minute=10_000,
    )
    platform = bootstrap(settings, upgrade=True)
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(
            uow, Actor(ActorKind.CLI, "pytest"), scale=BROWSER_SCALE, seed=BROWSER_SEED
        )
        uow.commit()
    create_world_accounts(platform)
    yield platform
    platform.close()


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; uvicorn listens on this socket
    return sock


def _wait_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + SERVER_START_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting (see the log above)")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"the test server did not answer /api/v1/health in time: {last!r}")


@pytest.fixture(scope="package")
def server_url(browser_platform: Platform) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``) of the real app served by uvicorn."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(browser_platform),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="browser-test-server", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# ---- Pages, their logs and screenshots -----------------------------------------------------------


@dataclass
class PageLog:
    """What a page reported: uncaught exceptions, console errors, requests that failed."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", self._on_page_error)
        page.on("console", self._on_console)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def _on_request_failed(self, request: Request) -> None:
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            request = response.request
            self.failed_requests.append(f"{request.method} {response.url}: HTTP {response.status}")

    @property
    def errors(self) -> list[str]:
        """The JavaScript errors: uncaught exceptions and ``console.error`` messages (which
        include resources that failed to load and Content-Security-Policy violations)."""
        return self.page_errors + self.console_errors

    def assert_no_errors(self) -> None:
        assert not self.errors, "the page logged errors:\n" + "\n".join(
            self.errors + [f"(request) {line}" for line in self.failed_requests]
        )

    def assert_no_failed_requests(self) -> None:
        assert not self.failed_requests, "requests failed:\n" + "\n".join(self.failed_requests)

    def clear(self) -> None:
        """Forget what was logged so far (after a test provoked errors on purpose)."""
        self.page_errors.clear()
        self.console_errors.clear()
        self.failed_requests.clear()


_LOGS: dict[int, PageLog] = {}  # id(page) → its log, while the page is open


@dataclass
class _OpenPage:
    context: BrowserContext
    page: Page
    log: PageLog


def _artefact_name(nodeid_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid_name).strip("_") or "test"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so the page fixture knows how the test went."""
    report = yield
    setattr(item, f"_browser_report_{report.when}", report)
    return report


PageFactory = Callable[..., Page]


@pytest.fixture
def open_page(
    browser: Browser, server_url: str, request: pytest.FixtureRequest
) -> Iterator[PageFactory]:
    """Opens pages in new browser contexts (own cookies): ``open_page(viewport=PHONE)``.

    Each page's log is at ``page_log(page)``. At the end of the test every page is
    screenshotted into ``test-artifacts/screenshots/`` and the test fails if a page logged an
    error it did not clear.
    """
    opened: list[_OpenPage] = []

    def factory(viewport: dict[str, int] | None = None, **context_args: Any) -> Page:
        context_args.setdefault("locale", "en-GB")
        context = browser.new_context(
            base_url=server_url, viewport=viewport or DESKTOP, **context_args
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        log = PageLog()
        log.attach(page)
        _LOGS[id(page)] = log
        opened.append(_OpenPage(context, page, log))
        return page

    yield factory

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    base = _artefact_name(request.node.name)
    report = getattr(request.node, "_browser_report_call", None)
    failed = report is not None and report.failed
    leftover: list[str] = []
    for index, item in enumerate(opened, start=1):
        name = base if index == 1 else f"{base}-{index}"
        target = SCREENSHOT_DIR / f"{name}.png"
        try:
            item.page.screenshot(path=str(target), full_page=True, timeout=TIMEOUT_MS)
        except Error as exc:  # a crashed page still closes and reports the rest
            print(f"screenshot {target} failed: {exc}")
        else:
            print(f"screenshot: {target.relative_to(REPO_ROOT)}")
        if not failed:
            leftover += item.log.errors
        _LOGS.pop(id(item.page), None)
        item.context.close()
    if leftover:
        pytest.fail("the page logged errors:\n" + "\n".join(leftover))


def page_log(page: Page) -> PageLog:
    """The log of a page opened by ``open_page`` (or ``page``)."""
    return _LOGS[id(page)]


@pytest.fixture
def page(open_page: PageFactory) -> Page:
    """A page in a new browser context, 1920×1080, English, pointed at the test server."""
    return open_page()


@pytest.fixture
def log(page: Page) -> PageLog:
    """The console errors, uncaught exceptions and failed requests of ``page``."""
    return page_log(page)


def sign_in(page: Page, username: str, *, password: str = PASSWORD, next_path: str = "/") -> None:
    """Sign in through the real ``/login`` form (its CSRF token included), then land on
    ``next_path``. The test accounts have no second factor."""
    target = "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"
    page.goto(target)
    page.fill("#signin-username", username)
    page.fill("#signin-password", password)
    with page.expect_navigation(wait_until="load"):
        page.click("button.signin__submit")
    error = page.locator("#signin-error")
    if error.count():
        raise AssertionError(f"sign-in as {username} refused: {error.inner_text()}")
    assert "/login" not in page.url, f"still on the sign-in page: {page.url}"
