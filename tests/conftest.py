"""Fixtures shared by the tests: app variants, signed-in clients, a live server, Docker and Chromium."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webadmin import create_app
from webadmin.config import Settings, load_settings
from webadmin.container_cache import ContainerCache
from webadmin.runtime import Runtime
from webadmin.sampler import Sampler
from webadmin.security import hash_password
from webadmin.sources import Sample
from webadmin.sources.docker import ContainerInfo, EngineUnreachable
from webadmin.store import Store
from webadmin.telemetry import (
    CoreReading,
    CpuReading,
    EngineReading,
    MemoryReading,
    PowerReading,
    Reading,
)

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"
PASSWORD = "correct horse battery staple"
# CI sets this so a test that needs Docker or Chromium fails instead of skipping.
STRICT_ENV = "WEBADMIN_TESTS_STRICT"


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when CI requires that nothing be skipped."""
    if os.environ.get(STRICT_ENV) == "1":
        pytest.fail(f"{reason} ({STRICT_ENV}=1 turns this skip into a failure)")
    pytest.skip(reason)


SAMPLE_READING = Reading(
    cpu=CpuReading(
        (
            CoreReading(0, True, 12.0, 1190),
            CoreReading(1, True, 30.0, 1190),
            CoreReading(2, False),
        )
    ),
    memory=MemoryReading(1733.0, 15827.0),
    swap=None,
    gpu=EngineReading(4.0, 318),
    emc=EngineReading(1.0, 665),
    temperatures_c={"cpu": 41.5, "gpu": 40.0},
    power_mw={"VDD_IN": PowerReading(4067, 4001), "VDD_SOC": PowerReading(1353, 1350)},
    power_total_rail="VDD_IN",
)


class StaticSource:
    """A telemetry source that returns the readings it is given, in turn."""

    def __init__(self, name: str = "tegrastats", readings: list[Reading] | None = None) -> None:
        self.name = name
        self.readings = readings or [SAMPLE_READING]
        self.reads = 0

    def open(self) -> None:
        """Nothing to open."""

    def read(self) -> Sample:
        """Return the next reading, repeating the last one."""
        reading = self.readings[min(self.reads, len(self.readings) - 1)]
        self.reads += 1
        return Sample(reading, datetime.now(timezone.utc))

    def close(self) -> None:
        """Nothing to close."""


class FakeDockerReader:
    """A DockerReader stand-in that returns fixed containers or raises EngineUnreachable."""

    def __init__(self, containers: list[ContainerInfo] | None = None, error: str | None = None) -> None:
        self.containers = containers or []
        self.error = error

    def list_containers(self) -> list[ContainerInfo]:
        """Return the fixed list, or raise the fixed error."""
        if self.error:
            raise EngineUnreachable(self.error)
        return list(self.containers)

    def add_stats(self, containers: list[ContainerInfo]) -> list[ContainerInfo]:
        """Return the containers unchanged."""
        return list(containers)

    def forget_missing(self, present_ids: set[str]) -> None:
        """Nothing is cached."""

    def close(self) -> None:
        """Nothing to close."""


def make_container(**overrides: Any) -> ContainerInfo:
    """Build a ContainerInfo with plausible defaults."""
    values: dict[str, Any] = {
        "id": "0123456789abcdef" * 4,
        "name": "ollama",
        "service": "ollama",
        "project": "homelab",
        "state": "running",
        "health": "healthy",
        "started_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "restart_count": 0,
        "image": "ollama/ollama:latest",
        "ports": ("127.0.0.1:11434->11434/tcp",),
    }
    values.update(overrides)
    return ContainerInfo(**values)


def make_runtime(
    source: StaticSource | None = None,
    reader: FakeDockerReader | None = None,
    ticks: int = 1,
) -> Runtime:
    """Build a runtime whose sampler and cache have already run, without threads."""
    source = source or StaticSource()
    sampler = Sampler([(source.name, lambda: source)])
    for _ in range(ticks):
        sampler.tick()
    cache = ContainerCache(reader or FakeDockerReader([make_container()]))  # type: ignore[arg-type]
    cache.refresh()
    return Runtime(sampler=sampler, containers=cache)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a temporary data directory and no other changes."""
    return replace(load_settings({}), data_dir=tmp_path / "data")


@pytest.fixture
def make_app(settings: Settings) -> Callable[..., Flask]:
    """Return a factory of app variants: pass a runtime or settings overrides."""

    def factory(runtime: Runtime | None = None, **overrides: Any) -> Flask:
        app = create_app(replace(settings, **overrides), runtime=runtime or make_runtime())
        app.config["TESTING"] = True
        return app

    return factory


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app with sample telemetry and one running container."""
    return make_app()


@pytest.fixture
def store(app: Flask) -> Store:
    """The app's store."""
    found: Store = app.extensions["webadmin"]["store"]
    return found


def add_user(store: Store, username: str = "admin", role: str = "admin", password: str = PASSWORD) -> None:
    """Create a user with the test password."""
    store.add_user(username, hash_password(password), role)


def csrf_token_from(html: str) -> str:
    """Find the CSRF token in a page's hidden field or meta tag."""
    match = re.search(r'name="csrf[-_]token" (?:value|content)="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str = "admin", password: str = PASSWORD, **form: str) -> Any:
    """Sign in through the form, as a browser does."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "username": username, "password": password, **form}
    return client.post("/login", data=data)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client without a session."""
    return app.test_client()


@pytest.fixture
def admin_client(app: Flask, store: Store) -> FlaskClient:
    """A client signed in as an admin."""
    add_user(store)
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302
    return client


@pytest.fixture
def htmx_client(admin_client: FlaskClient) -> FlaskClient:
    """A signed-in client whose requests look like htmx's."""
    admin_client.environ_base["HTTP_HX_REQUEST"] = "true"
    return admin_client


# Live server, Docker and Chromium


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout_s: float = 20.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until a URL returns a response, or fail."""
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


class LiveServer:
    """A ``webadmin serve`` process on a loopback port, with its own data directory."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {**os.environ, **env, "WEBADMIN_BIND": f"127.0.0.1:{self.port}", "WEBADMIN_DATA_DIR": str(data_dir)}
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def run_cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run a ``webadmin`` command against this server's data directory."""
        command = [sys.executable, "-m", "webadmin", *args]
        return subprocess.run(command, input=stdin, env=self.env, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        """Start the server and wait until it serves requests."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webadmin", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_http(self.url + "/healthz", process=self.process)

    def log(self) -> str:
        """Return what the server has printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Return a factory that starts live servers with extra settings; all stop at the end."""
    servers: list[LiveServer] = []

    def factory(env: dict[str, str] | None = None, admin: bool = True, start: bool = True) -> LiveServer:
        server = LiveServer(env or {}, tmp_path / f"data-{len(servers)}")
        servers.append(server)
        if admin:
            result = server.run_cli(
                "user", "add", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
            )
            assert result.returncode == 0, result.stderr
        if start:
            server.start()
        return server

    yield factory
    for server in servers:
        server.stop()


REPLAY_LOG = DATA_DIR / "tegrastats-replay.log"


@pytest.fixture
def replay_env() -> dict[str, str]:
    """Settings that read telemetry from a recorded tegrastats log, 5 lines a second."""
    command = f"{sys.executable} -m webadmin replay-tegrastats --interval-ms 200 {REPLAY_LOG}"
    return {"WEBADMIN_TELEMETRY": "tegrastats", "WEBADMIN_TEGRASTATS_CMD": command}


def docker_available() -> str | None:
    """Return None when a Docker engine responds to a ping, else the reason it does not."""
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
    except Exception as error:  # noqa: BLE001 - any failure means no engine for the tests
        return f"no Docker engine: {error}"
    return None


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A Docker SDK client to a running engine, or a skip (a failure under CI)."""
    import docker

    reason = docker_available()
    if reason:
        skip_or_fail(reason)
    client = docker.from_env(timeout=30)
    yield client
    client.close()


BUSYBOX_APPLETS = ("sh", "sleep", "echo", "cat", "true", "false", "ls", "wget", "nc", "httpd", "kill", "date")
# The tag names the applet list, so an image from a run with other applets is not reused.
BUSYBOX_TAG = hashlib.sha256(" ".join(BUSYBOX_APPLETS).encode()).hexdigest()[:12]
BUSYBOX_IMAGE = f"webadmin-test/busybox:{BUSYBOX_TAG}"


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any) -> str:
    """A busybox image built locally with ``docker import``, since nothing can be pulled."""
    import docker.errors

    # Reuse the image of an earlier run: importing again would leave the old one untagged.
    try:
        docker_client.images.get(BUSYBOX_IMAGE)
        return BUSYBOX_IMAGE
    except docker.errors.ImageNotFound:
        pass
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).exists():
        skip_or_fail("busybox is not installed (Debian package busybox-static)")
    with tempfile.TemporaryDirectory() as root:
        bin_dir = Path(root) / "bin"
        bin_dir.mkdir()
        shutil.copy2(busybox, bin_dir / "busybox")
        for applet in BUSYBOX_APPLETS:
            (bin_dir / applet).symlink_to("busybox")
        archive = Path(root) / "rootfs.tar"
        subprocess.run(["tar", "-C", root, "-cf", str(archive), "bin"], check=True)
        with archive.open("rb") as stream:
            docker_client.api.import_image_from_data(stream.read(), repository="webadmin-test/busybox", tag=BUSYBOX_TAG)
    return BUSYBOX_IMAGE


def chromium_path() -> str | None:
    """Return Debian's Chromium when it is installed."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, or a skip (a failure under CI)."""
    path = chromium_path()
    if path is None:
        skip_or_fail("Chromium is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
