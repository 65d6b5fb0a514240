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
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, FrameLocator, Page, Request, Response, expect

pytestmark = pytest.mark.browser

TILES = ("board", "cpu", "gpu", "memory", "temperatures", "power", "disk", "trends", "containers")
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
PHONE_WIDTH_PX = 360
# Playwright waits up to 30 s by default, so here a wait ends after 10 s unless it sets a shorter timeout.
TIMEOUT_MS = 10_000
# Tiles poll every 2 s and the replayed log adds 5 readings a second, so 8 s covers at least three polls.
TILE_CHANGE_TIMEOUT_MS = 8_000
PHONE_SCREENSHOT = "/tmp/webadmin-phone.png"
DARK_SCREENSHOT = "/tmp/webadmin-dark.png"
LOGIN_URL = re.compile(r"/login(\?.*)?$")
# WCAG 2.1's minimum contrast ratio for body text (level AA).
MIN_TEXT_CONTRAST = 4.5


@pytest.fixture
def server(live_server_factory: Callable[..., LiveServer], replay_env: dict[str, str]) -> LiveServer:
    """A live server with the admin user and replayed tegrastats telemetry."""
    return live_server_factory(replay_env)


@pytest.fixture
def open_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Return a factory of browser contexts with a 10 s default timeout, and close them all at the end."""
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


def fill_login_form(page: Page | FrameLocator, password: str = PASSWORD) -> None:
    """Fill in and submit the login form of a page or a frame as admin."""
    page.locator('input[name="username"]').fill("admin")
    page.locator('input[name="password"]').fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, url: str, password: str = PASSWORD) -> None:
    """Open the login page of the server at ``url`` and sign in as admin."""
    page.goto(url + "/login")
    fill_login_form(page, password)


def expect_dashboard(page: Page, url: str) -> None:
    """Wait until the dashboard shows every tile."""
    expect(page).to_have_url(url + "/")
    for tile in TILES:
        expect(page.locator(f"#tile-{tile}")).to_be_visible()


def expect_login_page(page: Page) -> None:
    """Wait until the login page is the whole page, with no tile left around its form."""
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator('input[name="password"]')).to_have_count(1)
    expect(page.locator(".tile")).to_have_count(0)


def test_phone_sign_in_and_out(server: LiveServer, phone: Page) -> None:
    phone.goto(server.url + "/")
    expect_login_page(phone)
    fill_login_form(phone)
    expect_dashboard(phone, server.url)
    expect(phone.locator("#tile-board")).to_contain_text("tegrastats")

    # A full page load would drop this variable, but a tile swap keeps it.
    phone.evaluate("window.loadedOnce = true")
    sampled = phone.locator("#tile-board time")
    first_sampled = sampled.get_attribute("datetime")
    assert first_sampled
    expect(sampled).not_to_have_attribute("datetime", first_sampled, timeout=TILE_CHANGE_TIMEOUT_MS)
    assert phone.evaluate("window.loadedOnce") is True
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH_PX
    phone.screenshot(path=PHONE_SCREENSHOT, full_page=True)

    phone.get_by_role("button", name="Sign out").click()
    expect_login_page(phone)
    phone.go_back()
    expect_login_page(phone)
    phone.goto(server.url + "/")
    expect_login_page(phone)


def test_wrong_password_rejected(server: LiveServer, phone: Page) -> None:
    with phone.expect_response(lambda response: response.request.method == "POST") as answer:
        sign_in(phone, server.url, password="wrong " + PASSWORD)

    assert answer.value.status == 401
    expect(phone.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect_login_page(phone)
    phone.goto(server.url + "/")
    expect_login_page(phone)


def sign_out_in_other_tab(server: LiveServer, page: Page) -> None:
    """End the session the way a second tab of the same browser does."""
    other = page.context.new_page()
    other.goto(server.url + "/")
    other.get_by_role("button", name="Sign out").click()
    expect_login_page(other)
    other.close()


def remove_admin(server: LiveServer, page: Page) -> None:
    """End the session on the server alone, by deleting its user."""
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


class FramingServer(ThreadingHTTPServer):
    """A static page on a loopback port that frames the login page at ``target``."""

    target = ""


class FramingPage(BaseHTTPRequestHandler):
    """Handler that serves the framing page for every path."""

    server: FramingServer

    def do_GET(self) -> None:
        body = f'<!doctype html><title>Framing page</title><iframe src="{self.server.target}/login"></iframe>'
        encoded = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of access logs."""


@pytest.fixture
def framing_server() -> Iterator[FramingServer]:
    """A framing page on another loopback port than webadmin's; set ``target`` before loading it."""
    httpd = FramingServer(("127.0.0.1", 0), FramingPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def origin_of(httpd: FramingServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def test_frame_allowed_ancestor(
    live_server_factory: Callable[..., LiveServer],
    replay_env: dict[str, str],
    framing_server: FramingServer,
    phone: Page,
) -> None:
    server = live_server_factory({**replay_env, "WEBADMIN_FRAME_ANCESTORS": origin_of(framing_server)})
    framing_server.target = server.url
    frame = phone.frame_locator("iframe")

    phone.goto(origin_of(framing_server) + "/")
    expect(frame.locator('input[name="password"]')).to_be_visible()
    fill_login_form(frame)

    # Both ports are the same site, so the SameSite=Lax session cookie reaches the framed page.
    expect(frame.locator("#tile-cpu")).to_be_visible()
    expect(frame.get_by_role("button", name="Sign out")).to_be_visible()


def test_frame_blocked_by_default(server: LiveServer, framing_server: FramingServer, phone: Page) -> None:
    framing_server.target = server.url

    with phone.expect_console_message(lambda message: "frame-ancestors" in message.text) as violation:
        phone.goto(origin_of(framing_server) + "/")
    phone.wait_for_load_state("load")

    assert violation.value.type == "error"
    assert len(phone.frames) == 2
    assert phone.frames[1].locator('input[name="password"]').count() == 0


def describe(message: ConsoleMessage) -> str:
    """Return a console message with its URL, which a failed load leaves out of its text."""
    return f"{message.text} ({message.location.get('url')})"


def test_dashboard_console_clean(server: LiveServer, phone: Page) -> None:
    errors: list[str] = []
    tile_statuses: list[int] = []

    def record_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(describe(message))

    def record_response(response: Response) -> None:
        if "/tiles/" in response.url:
            tile_statuses.append(response.status)

    phone.on("console", record_console)
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.on("response", record_response)

    sign_in(phone, server.url)
    expect_dashboard(phone, server.url)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while len(tile_statuses) < 3 * len(TILES) and time.monotonic() < deadline:
        phone.wait_for_timeout(250)

    assert len(tile_statuses) >= 3 * len(TILES)
    assert set(tile_statuses) == {200}
    assert errors == []


class TileTraffic:
    """Counter of the tile requests a page sends and of those that have ended."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sent = 0
        self.ended = 0
        page.on("request", lambda request: self._count(request, "sent"))
        page.on("requestfinished", lambda request: self._count(request, "ended"))
        page.on("requestfailed", lambda request: self._count(request, "ended"))

    def _count(self, request: Request, counter: str) -> None:
        if "/tiles/" in request.url:
            setattr(self, counter, getattr(self, counter) + 1)

    def wait_until_answered(self, count: int) -> None:
        """Wait up to 2 s until at least ``count`` requests were sent and every one has ended."""
        deadline = time.monotonic() + 2
        while (self.sent < count or self.ended < self.sent) and time.monotonic() < deadline:
            self.page.wait_for_timeout(100)


SET_HIDDEN = """hidden => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""

COUNT_POLL_ATTEMPTS = """() => {
  window.pollAttempts = 0;
  document.addEventListener("htmx:beforeRequest", event => {
    if (event.detail.elt.hasAttribute("data-poll")) window.pollAttempts += 1;
  });
}"""


def test_hidden_tab_pauses_polling(server: LiveServer, phone: Page) -> None:
    traffic = TileTraffic(phone)
    # With the fake clock paused, htmx's timers fire only when the test advances the clock.
    # They include the polls and the settling that makes a swapped-in tile poll.
    phone.clock.install()
    sign_in(phone, server.url)
    expect_dashboard(phone, server.url)
    phone.evaluate(COUNT_POLL_ATTEMPTS)
    phone.clock.pause_at(time.time() + 1)

    before_visible = traffic.sent
    phone.clock.run_for(4_000)
    traffic.wait_until_answered(before_visible + len(TILES))
    visible_polls = traffic.sent - before_visible

    # Headless Chromium keeps every tab visible, so the test makes the page believe it is hidden.
    phone.evaluate(SET_HIDDEN, True)
    before_hidden = traffic.sent
    attempts_before_hidden = phone.evaluate("window.pollAttempts")
    phone.clock.run_for(6_000)
    phone.wait_for_timeout(1_000)
    hidden_requests = traffic.sent - before_hidden
    hidden_attempts = phone.evaluate("window.pollAttempts") - attempts_before_hidden

    # No poll timer can fire now, so every request from here on comes from the refresh on showing the tab.
    before_shown = traffic.sent
    phone.evaluate(SET_HIDDEN, False)
    traffic.wait_until_answered(before_shown + len(TILES))
    refresh_requests = traffic.sent - before_shown

    assert visible_polls >= len(TILES)
    assert hidden_attempts >= len(TILES)
    assert hidden_requests == 0
    assert refresh_requests == len(TILES)


def relative_luminance(css_color: str) -> float:
    """Return the WCAG 2.1 relative luminance of an ``rgb()`` color, 0 for black to 1 for white."""
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", css_color)
    assert match, f"not an rgb() color: {css_color}"
    channels = [int(value) / 255 for value in match.groups()]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def body_luminances(page: Page) -> tuple[float, float]:
    """Return the relative luminance of the body's background and of its text."""
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    return relative_luminance(background), relative_luminance(text)


def contrast_ratio(first: float, second: float) -> float:
    """Return the WCAG 2.1 contrast ratio of two relative luminances, from 1 to 21."""
    return (max(first, second) + 0.05) / (min(first, second) + 0.05)


def test_dark_scheme_colors(server: LiveServer, open_context: Callable[..., BrowserContext]) -> None:
    page = open_context(**PHONE, color_scheme="dark").new_page()
    sign_in(page, server.url)
    expect_dashboard(page, server.url)
    page.screenshot(path=DARK_SCREENSHOT, full_page=True)

    background, text = body_luminances(page)

    assert background < 0.05
    assert text > background
    assert contrast_ratio(background, text) >= MIN_TEXT_CONTRAST


def test_light_scheme_colors(server: LiveServer, open_context: Callable[..., BrowserContext]) -> None:
    page = open_context(**PHONE, color_scheme="light").new_page()
    sign_in(page, server.url)
    expect_dashboard(page, server.url)

    background, text = body_luminances(page)

    assert background > 0.8
    assert text < background
    assert contrast_ratio(background, text) >= MIN_TEXT_CONTRAST
