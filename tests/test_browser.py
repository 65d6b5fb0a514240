"""Headless Chromium against a live server: sign-in, live tiles, session end, framing, hidden tab, colors."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import PASSWORD, LiveServer
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect

pytestmark = pytest.mark.browser

TILES = ("board", "cpu", "gpu", "memory", "temperatures", "power", "disk", "trends", "containers")
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
# Playwright's own default is 30 s; every wait here ends within 10 s unless it passes a shorter timeout.
TIMEOUT_MS = 10_000
# Tiles poll every 2 s and the replayed log adds 5 readings a second, so 8 s covers three polls.
TILE_CHANGE_TIMEOUT_MS = 8_000
PHONE_SCREENSHOT = "/tmp/webadmin-phone.png"
DARK_SCREENSHOT = "/tmp/webadmin-dark.png"
LOGIN_URL = re.compile(r"/login(\?.*)?$")


@pytest.fixture
def server(live_server_factory: Callable[..., LiveServer], replay_env: dict[str, str]) -> LiveServer:
    """A live server with the admin user and replayed tegrastats telemetry."""
    return live_server_factory(replay_env)


@pytest.fixture
def open_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Return a factory of browser contexts with short timeouts; all close at the end."""
    contexts: list[BrowserContext] = []

    def factory(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def phone(open_context: Callable[..., BrowserContext]) -> Page:
    """A page in a phone-sized touch context."""
    return open_context(**PHONE).new_page()


def sign_in(page: Page, url: str, password: str = PASSWORD) -> None:
    """Open the login page at ``url`` and submit the form as admin."""
    page.goto(url + "/login")
    fill_login_form(page, password)


def fill_login_form(page: Any, password: str = PASSWORD) -> None:
    """Fill and submit the login form found in a page or a frame locator."""
    page.locator('input[name="username"]').fill("admin")
    page.locator('input[name="password"]').fill(password)
    page.get_by_role("button", name="Sign in").click()


def expect_dashboard(page: Page, url: str) -> None:
    """Wait until the dashboard with every tile is shown."""
    expect(page).to_have_url(url + "/")
    for tile in TILES:
        expect(page.locator(f"#tile-{tile}")).to_be_visible()


def expect_login_page(page: Page) -> None:
    """Wait until the login form fills the whole page."""
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator('input[name="password"]')).to_have_count(1)
    expect(page.locator(".tile")).to_have_count(0)


def relative_luminance(css_color: str) -> float:
    """Return the WCAG relative luminance, 0 for black to 1 for white, of an ``rgb()`` color."""
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", css_color)
    assert match, f"not an rgb() color: {css_color}"
    channels = [int(value) / 255 for value in match.groups()]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_phone_sign_in_and_out(server: LiveServer, phone: Page) -> None:
    phone.goto(server.url + "/")
    expect_login_page(phone)
    fill_login_form(phone)
    expect_dashboard(phone, server.url)
    expect(phone.locator("#tile-board")).to_contain_text("tegrastats")

    phone.evaluate("window.loadedOnce = true")
    sampled = phone.locator("#tile-board time")
    first_sampled = sampled.get_attribute("datetime")
    assert first_sampled
    expect(sampled).not_to_have_attribute("datetime", first_sampled, timeout=TILE_CHANGE_TIMEOUT_MS)
    assert phone.evaluate("window.loadedOnce") is True
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=PHONE_SCREENSHOT, full_page=True)

    phone.get_by_role("button", name="Sign out").click()
    expect_login_page(phone)
    phone.go_back()
    expect_login_page(phone)
    phone.goto(server.url + "/")
    expect_login_page(phone)


def test_wrong_password_rejected(server: LiveServer, phone: Page) -> None:
    sign_in(phone, server.url, password="wrong " + PASSWORD)

    expect(phone.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect_login_page(phone)
    phone.goto(server.url + "/")
    expect_login_page(phone)


def sign_out_in_other_tab(server: LiveServer, page: Page) -> None:
    other = page.context.new_page()
    other.goto(server.url + "/")
    other.get_by_role("button", name="Sign out").click()
    expect_login_page(other)
    other.close()


def remove_admin(server: LiveServer, page: Page) -> None:
    result = server.run_cli("user", "remove", "admin")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("end_session", [sign_out_in_other_tab, remove_admin], ids=["sign-out", "user-removed"])
def test_poll_after_session_end(
    server: LiveServer, phone: Page, end_session: Callable[[LiveServer, Page], None]
) -> None:
    sign_in(phone, server.url)
    expect_dashboard(phone, server.url)
    phone.evaluate("window.loadedOnce = true")

    with phone.expect_response(lambda response: "/tiles/" in response.url and response.status == 401) as refused:
        end_session(server, phone)
    expect_login_page(phone)

    assert refused.value.headers.get("hx-redirect") == "/login?next=/"
    assert phone.evaluate("window.loadedOnce") is None


class FramingPage(BaseHTTPRequestHandler):
    """Serves one page that frames the login page of ``server.target``."""

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        body = f'<!doctype html><title>frame</title><iframe src="{self.server.target}/login"></iframe>'.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        """Keep the test output quiet."""


@pytest.fixture
def framing_server() -> Iterator[ThreadingHTTPServer]:
    """A static page on another loopback port; set ``.target`` to the origin it frames."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FramingPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def framing_url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def test_frame_allowed_ancestor(
    live_server_factory: Callable[..., LiveServer], replay_env: dict[str, str], framing_server: ThreadingHTTPServer, phone: Page
) -> None:
    server = live_server_factory({**replay_env, "WEBADMIN_FRAME_ANCESTORS": framing_url(framing_server)})
    framing_server.target = server.url  # type: ignore[attr-defined]
    frame = phone.frame_locator("iframe")

    phone.goto(framing_url(framing_server) + "/")
    expect(frame.locator('input[name="password"]')).to_be_visible()
    fill_login_form(frame)

    expect(frame.locator("#tile-cpu")).to_be_visible()
    expect(frame.get_by_role("button", name="Sign out")).to_be_visible()


def test_frame_blocked_by_default(
    server: LiveServer, framing_server: ThreadingHTTPServer, phone: Page
) -> None:
    framing_server.target = server.url  # type: ignore[attr-defined]

    with phone.expect_console_message(lambda message: "frame-ancestors" in message.text) as violation:
        phone.goto(framing_url(framing_server) + "/")
    phone.wait_for_load_state("load")

    assert violation.value.type == "error"
    assert len(phone.frames) == 2
    assert phone.frames[1].locator('input[name="password"]').count() == 0


def describe(message: ConsoleMessage) -> str:
    """Return a console message with the URL it came from, since a failed load names no file in its text."""
    return f"{message.text} ({message.location.get('url')})"


def test_dashboard_console_clean(server: LiveServer, phone: Page) -> None:
    errors: list[str] = []
    tile_responses: list[int] = []
    phone.on("console", lambda message: errors.append(describe(message)) if message.type == "error" else None)
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.on("response", lambda response: tile_responses.append(response.status) if "/tiles/" in response.url else None)

    sign_in(phone, server.url)
    expect_dashboard(phone, server.url)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while len(tile_responses) < 3 * len(TILES) and time.monotonic() < deadline:
        phone.wait_for_timeout(250)

    assert len(tile_responses) >= 3 * len(TILES)
    assert set(tile_responses) == {200}
    assert errors == []


HIDE_TAB = """hidden => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def wait_for_requests(page: Page, requests: list[str], count: int) -> None:
    """Give the browser up to 2 s to report at least ``count`` requests."""
    deadline = time.monotonic() + 2
    while len(requests) < count and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def test_hidden_tab_pauses_polling(server: LiveServer, phone: Page) -> None:
    tile_requests: list[str] = []
    phone.on("request", lambda request: tile_requests.append(request.url) if "/tiles/" in request.url else None)
    # A paused fake clock fires htmx's poll timers only when the test advances it.
    phone.clock.install()
    sign_in(phone, server.url)
    expect_dashboard(phone, server.url)
    phone.clock.pause_at(time.time() + 1)
    phone.wait_for_timeout(500)

    before_visible_polls = len(tile_requests)
    phone.clock.run_for(2_000)
    wait_for_requests(phone, tile_requests, before_visible_polls + len(TILES))
    visible_polls = len(tile_requests) - before_visible_polls

    # Headless Chromium keeps every tab visible, so the test makes the page believe it is hidden.
    phone.evaluate(HIDE_TAB, True)
    before_hidden = len(tile_requests)
    phone.clock.run_for(6_000)
    phone.wait_for_timeout(1_000)
    hidden_requests = len(tile_requests) - before_hidden

    before_shown = len(tile_requests)
    phone.evaluate(HIDE_TAB, False)
    wait_for_requests(phone, tile_requests, before_shown + len(TILES))
    refresh_requests = len(tile_requests) - before_shown

    assert visible_polls == len(TILES)
    assert hidden_requests == 0
    assert refresh_requests == len(TILES)


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_color_scheme_background(server: LiveServer, open_context: Callable[..., BrowserContext], scheme: str) -> None:
    page = open_context(**PHONE, color_scheme=scheme).new_page()
    sign_in(page, server.url)
    expect_dashboard(page, server.url)

    background = relative_luminance(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    text = relative_luminance(page.evaluate("getComputedStyle(document.body).color"))
    if scheme == "dark":
        page.screenshot(path=DARK_SCREENSHOT, full_page=True)
        assert background < 0.05
        assert text > 0.7
    else:
        assert background > 0.8
        assert text < 0.05
