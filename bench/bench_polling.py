"""Measure what phones polling the webadmin dashboard cost the server, next to a minimal Flask route.

The script starts two servers on loopback ports: ``webadmin serve`` (gunicorn, one gthread
worker, 8 threads) with telemetry replayed from a recorded tegrastats log and the real Docker
engine, and ``bench/minimal_app.py``, one fixed fragment under the same gunicorn options.
Simulated phones run in this process with asyncio and aiohttp, so the load generator never
shares a server's GIL. Each phone signs in once through the login form, then every 2 s (open
loop: a round starts 2 s after the previous one started, however slow it was) fetches every
fragment the dashboard polls, over at most 6 connections as a browser does. The minimal app
gets the same number of requests per round, all to its one route.

Each level (1, 10 and 50 phones by default) polls through a warm-up, then a fixed measured
window. The window gives p50 and p99 latency per fragment, requests per second and responses
other than 200. It also gives server CPU seconds per 1000 requests and as a percent of one core,
from the user + system time of the gunicorn master and worker (psutil, from /proc), and the
worker's peak RSS, sampled every 0.2 s. The script prints a report with three targets and,
with ``--json``, writes the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import psutil

from webadmin.dashboard import POLL_INTERVAL_S, TILES

logger = logging.getLogger("bench_polling")

REPO_DIR = Path(__file__).resolve().parent.parent
REPLAY_LOG = REPO_DIR / "tests" / "data" / "tegrastats-replay.log"
MINIMAL_APP = Path(__file__).resolve().parent / "minimal_app.py"
MINIMAL_FRAGMENT_PATH = "/fragment"

DEFAULT_PHONES = (1, 10, 50)
DEFAULT_DURATION_S = 30.0
DEFAULT_WARMUP_S = 5.0
DEFAULT_IDLE_S = 10.0
QUICK_DURATION_S = 8.0
QUICK_WARMUP_S = 2.0
QUICK_IDLE_S = 3.0
DEFAULT_CONTAINERS = 4
MAX_CONTAINERS = 10

# Chrome and Safari open at most 6 HTTP/1.1 connections per host.
BROWSER_CONNECTIONS_PER_HOST = 6
# Below gunicorn's default keepalive of 2 s, so a phone does not reuse a connection the server
# may be closing (aiohttp checks the idle time when it takes a connection from the pool).
# Rounds are 2 s apart, so each round opens new connections, as a browser does against gunicorn.
CLIENT_KEEPALIVE_S = 1.5
REQUEST_TIMEOUT_S = 10.0
SIGN_IN_CONCURRENCY = 2
RSS_SAMPLE_INTERVAL_S = 0.2
# How long the RSS sampler may run past warm-up and window: the sign-ins and the last requests' timeout.
RSS_SAMPLER_SLACK_S = 120.0
HTMX_HEADERS = {"HX-Request": "true"}

# webadmin allows 10 sign-in attempts per minute from one address, so every phone gets
# its own loopback source address (all of 127.0.0.0/8 reaches 127.0.0.1 on Linux).
PROBE_ADDRESS = "127.0.0.2"
FIRST_PHONE_OCTET = 10
MAX_PHONES = 254 - FIRST_PHONE_OCTET

SERVER_HOST = "127.0.0.1"
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 15.0
# gunicorn's master replaces a worker that exited within about a second.
WORKER_WAIT_S = 10.0
FIRST_READING_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 60.0

BENCH_USER = "bench"
WAITING_MARKERS = ("Waiting for the first reading", "Asking Docker for the containers")
# gunicorn writes "[ERROR] Worker (pid:N) was sent SIGKILL!" and "[CRITICAL] WORKER TIMEOUT";
# webadmin's log format puts the level between spaces.
LOG_PROBLEM_PATTERN = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Booting worker")
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')

BUSYBOX_IMAGE_REPOSITORY = "webadmin-bench/busybox"
BUSYBOX_IMAGE = f"{BUSYBOX_IMAGE_REPOSITORY}:latest"
# The containers outlive a killed benchmark by at most this long.
CONTAINER_SLEEP_S = 3600
CONTAINER_LABEL = "webadmin-bench.run"

# Other processes using more than this share of one core during a window make its latencies suspect.
BUSY_MACHINE_PERCENT = 20.0

TARGET_P99_RATIO = 2.0
TARGET_PEAK_RSS_MB = 80.0
TARGET_ONE_PHONE_CPU_PERCENT = 2.0
TARGET_P99_PHONES = 50
BYTES_PER_MB = 1024 * 1024


class BenchError(Exception):
    """A step of the benchmark failed, and the message names the step and the cause."""


# Configuration


@dataclass(frozen=True)
class BenchConfig:
    """The settings of one run: phone counts, durations in seconds, containers and the JSON output path."""

    phones: tuple[int, ...]
    duration_s: float
    warmup_s: float
    idle_s: float
    containers: int
    json_path: Path | None


@dataclass(frozen=True)
class Credentials:
    """The user a phone signs in as."""

    username: str
    password: str


@dataclass(frozen=True)
class Site:
    """A server under load: its URL, the fragments of one round and how phones sign in."""

    name: str
    base_url: str
    fragments: tuple[tuple[str, str], ...]
    credentials: Credentials | None


@dataclass
class ServerProcess:
    """A gunicorn server started by the benchmark, whose ``process`` is the gunicorn master."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    worker_pids: list[int] = field(default_factory=list)


# Results


@dataclass(frozen=True)
class RequestRecord:
    """One fragment request: when it finished (monotonic s), how long it took, what came back."""

    fragment: str
    finished_at: float
    latency_s: float
    status: int
    size_bytes: int
    error: str | None


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds (user + system) of the processes the benchmark watches."""

    at: float
    gunicorn_s: float
    helpers_s: float
    load_generator_s: float
    machine_busy_s: float


@dataclass(frozen=True)
class FragmentStats:
    """Latency and outcome figures of one fragment within the measured window."""

    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_bytes: float


@dataclass
class LevelResult:
    """Every figure of one server at one phone count, over the measured window."""

    site: str
    phones: int
    window_s: float
    requests: int
    scheduled_per_s: float
    requests_per_s: float
    errors: int
    error_kinds: dict[str, int]
    p50_ms: float
    p99_ms: float
    server_cpu_s: float
    server_cpu_percent: float
    cpu_s_per_1000_requests: float
    helper_cpu_s: float
    load_generator_cpu_percent: float
    other_cpu_percent: float
    peak_rss_mb: float
    peak_rss_polling_mb: float
    rss_high_water_mb: float
    worker_restarted: bool
    fragments: dict[str, FragmentStats] = field(default_factory=dict)


@dataclass(frozen=True)
class IdleResult:
    """A server's CPU and RSS with no phone polling."""

    site: str
    window_s: float
    server_cpu_percent: float
    helper_cpu_percent: float
    rss_mb: float


@dataclass(frozen=True)
class TargetCheck:
    """One target of the report and whether the run met it."""

    name: str
    passed: bool | None
    detail: str


@dataclass
class BenchReport:
    """Everything the report prints and ``--json`` writes."""

    machine: dict[str, Any]
    versions: dict[str, str]
    config: dict[str, Any]
    fragment_bytes: dict[str, dict[str, int]]
    idle: list[IdleResult]
    levels: list[LevelResult]
    targets: list[TargetCheck]
    server_log: dict[str, list[str]]


# Small helpers


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind((SERVER_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def phone_address(index: int) -> str:
    """Return the loopback source address of phone ``index``."""
    return f"127.0.0.{FIRST_PHONE_OCTET + index}"


def percentile(values: Sequence[float], percent: float) -> float:
    """Return the nearest-rank percentile of ``values``, or NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


async def sleep_until(deadline: float) -> None:
    """Sleep until the monotonic clock reaches ``deadline``."""
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


def log_problems(path: Path) -> list[str]:
    """Return the last 20 lines of a server log at WARNING or above or about a worker boot."""
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    return [line for line in lines if LOG_PROBLEM_PATTERN.search(line)][-20:]


def tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a log file, or a note that it is missing."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# Docker containers for the container tile


@dataclass
class BenchContainers:
    """Busybox containers started for the container tile, and the image made for them."""

    client: Any = None
    container_ids: list[str] = field(default_factory=list)
    created_image: bool = False
    note: str = "none"

    def remove(self) -> None:
        """Remove the containers, then the image when this run built it."""
        if self.client is None:
            return
        for container_id in self.container_ids:
            self._remove_container(container_id)
        if self.created_image:
            self._remove_image()
        self.client.close()

    def _remove_container(self, container_id: str) -> None:
        from docker.errors import DockerException

        try:
            self.client.api.remove_container(container_id, force=True)
        except DockerException as error:
            logger.error(
                "Removing container %s failed: %s. Remove it with: docker rm -f %s",
                container_id[:12],
                error,
                container_id[:12],
            )

    def _remove_image(self) -> None:
        from docker.errors import DockerException

        try:
            self.client.api.remove_image(BUSYBOX_IMAGE)
        except DockerException as error:
            logger.error(
                "Removing image %s failed: %s. Remove it with: docker rmi %s", BUSYBOX_IMAGE, error, BUSYBOX_IMAGE
            )


def import_busybox_image(client: Any) -> None:
    """Build a one-file busybox image with ``docker import``, since no registry can be reached."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).exists():
        raise BenchError("busybox is not installed. Install Debian's busybox-static or run with --containers 0")
    with tempfile.TemporaryDirectory(prefix="webadmin-bench-image-") as root:
        bin_dir = Path(root) / "bin"
        bin_dir.mkdir()
        shutil.copy2(busybox, bin_dir / "busybox")
        (bin_dir / "sleep").symlink_to("busybox")
        archive = Path(root) / "rootfs.tar"
        subprocess.run(["tar", "-C", root, "-cf", str(archive), "bin"], check=True, timeout=CLI_TIMEOUT_S)
        client.api.import_image_from_data(archive.read_bytes(), repository=BUSYBOX_IMAGE_REPOSITORY, tag="latest")


def ensure_busybox_image(client: Any) -> bool:
    """Make sure the busybox image exists, and return True when this call built it."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(BUSYBOX_IMAGE)
    except ImageNotFound:
        import_busybox_image(client)
        return True
    return False


def container_name_prefix() -> str:
    """Return the name prefix of this run's containers."""
    return f"webadmin-bench-{os.getpid()}-"


def run_bench_container(client: Any, index: int) -> str:
    """Start one sleeping busybox container labelled as a compose service, and return its id."""
    labels = {
        CONTAINER_LABEL: str(os.getpid()),
        "com.docker.compose.project": "webadmin-bench",
        "com.docker.compose.service": f"sleeper-{index}",
    }
    container = client.containers.run(
        BUSYBOX_IMAGE,
        ["sleep", str(CONTAINER_SLEEP_S)],
        name=f"{container_name_prefix()}{index}",
        labels=labels,
        detach=True,
    )
    return str(container.id)


def start_containers(count: int, containers: BenchContainers) -> None:
    """Start ``count`` containers into ``containers``, or note why the engine failed and go on."""
    if count == 0:
        return
    import docker
    from docker.errors import DockerException

    try:
        containers.client = docker.from_env(timeout=30)
        containers.client.ping()
        containers.created_image = ensure_busybox_image(containers.client)
        for index in range(count):
            containers.container_ids.append(run_bench_container(containers.client, index))
    except DockerException as error:
        # The benchmark still measures webadmin, whose container tile then shows the error.
        containers.note = f"none, the Docker engine failed: {error}"
        logger.error("Starting bench containers failed: %s. The container tile will show the error", error)
        return
    containers.note = f"{count} busybox containers running `sleep`"
    logger.info("Started %d busybox containers", count)


# Servers


def webadmin_env(bind: str, data_dir: Path) -> dict[str, str]:
    """Return the environment of ``webadmin serve``: loopback, temp data, replayed tegrastats."""
    replay = f"{sys.executable} -m webadmin replay-tegrastats --interval-ms 1000 {REPLAY_LOG}"
    return {
        **os.environ,
        "WEBADMIN_BIND": bind,
        "WEBADMIN_DATA_DIR": str(data_dir),
        "WEBADMIN_TELEMETRY": "tegrastats",
        "WEBADMIN_TEGRASTATS_CMD": replay,
    }


def add_bench_user(env: dict[str, str], credentials: Credentials) -> None:
    """Create the viewer the phones sign in as, through ``webadmin user add``."""
    command = [
        sys.executable,
        "-m",
        "webadmin",
        "user",
        "add",
        credentials.username,
        "--role",
        "viewer",
        "--password-stdin",
    ]
    result = subprocess.run(
        command, input=credentials.password + "\n", env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )
    if result.returncode != 0:
        raise BenchError(f"webadmin user add failed with code {result.returncode}: {result.stderr.strip()}")


def launch(name: str, command: list[str], env: dict[str, str], log_path: Path, url: str) -> ServerProcess:
    """Start a server process with its output in ``log_path``."""
    with log_path.open("wb") as log:
        # A session of its own, so Ctrl-C reaches only this script, which then stops
        # the server with SIGTERM and waits for it.
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    logger.info("Started %s (pid %d) on %s", name, process.pid, url)
    return ServerProcess(name, process, url, log_path)


def wait_for_http(server: ServerProcess, path: str) -> None:
    """Wait until ``path`` returns a response of any status, or raise BenchError with the server's log."""
    url = server.url + path
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode}. Its log:\n{tail(server.log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchError(
        f"{url} did not respond within {SERVER_START_TIMEOUT_S:g} s. {server.name}'s log:\n{tail(server.log_path)}"
    )


def start_webadmin(work_dir: Path, credentials: Credentials) -> ServerProcess:
    """Create the bench user, start ``webadmin serve`` and wait for /healthz."""
    bind = f"{SERVER_HOST}:{free_port()}"
    env = webadmin_env(bind, work_dir / "webadmin-data")
    add_bench_user(env, credentials)
    command = [sys.executable, "-m", "webadmin", "serve"]
    server = launch("webadmin", command, env, work_dir / "webadmin.log", f"http://{bind}")
    wait_for_http(server, "/healthz")
    return server


def start_minimal(work_dir: Path) -> ServerProcess:
    """Start the minimal Flask app under gunicorn and wait for its route."""
    bind = f"{SERVER_HOST}:{free_port()}"
    command = [sys.executable, str(MINIMAL_APP), "--bind", bind]
    server = launch("minimal", command, dict(os.environ), work_dir / "minimal.log", f"http://{bind}")
    wait_for_http(server, MINIMAL_FRAGMENT_PATH)
    return server


def stop_server(server: ServerProcess) -> None:
    """Stop a server with SIGTERM, wait for it, then end any child it left behind."""
    descendants = descendants_of(server.process.pid)
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.error(
                "%s (pid %d) did not stop within %g s, so it is killed",
                server.name,
                server.process.pid,
                SERVER_STOP_TIMEOUT_S,
            )
            server.process.kill()
            server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    kill_leftovers(server.name, descendants)
    logger.info("Stopped %s", server.name)


def descendants_of(pid: int) -> list[psutil.Process]:
    """Return the processes below ``pid``, or none when it is gone."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_leftovers(name: str, processes: list[psutil.Process]) -> None:
    """Kill, by pid, the processes of a stopped server that are still running."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running():
                logger.error("%s left pid %d (%s) running, so it is killed", name, process.pid, process.name())
                process.kill()


# Process accounting


@dataclass
class WatchedProcesses:
    """The gunicorn master, its worker and the worker's children (tegrastats replay) of one server."""

    master: psutil.Process
    worker: psutil.Process
    helpers: list[psutil.Process]


def watch_server(server: ServerProcess) -> WatchedProcesses:
    """Find the worker (the master's only child) and the worker's children, noting a new worker."""
    master = psutil.Process(server.process.pid)
    worker = wait_for_worker(server, master)
    if server.worker_pids and server.worker_pids[-1] != worker.pid:
        logger.error("%s's gunicorn worker changed from pid %d to %d", server.name, server.worker_pids[-1], worker.pid)
    if not server.worker_pids or server.worker_pids[-1] != worker.pid:
        server.worker_pids.append(worker.pid)
    return WatchedProcesses(master, worker, worker.children(recursive=True))


def wait_for_worker(server: ServerProcess, master: psutil.Process) -> psutil.Process:
    """Return the master's one worker, waiting while gunicorn replaces a worker that exited."""
    deadline = time.monotonic() + WORKER_WAIT_S
    while True:
        workers = master.children()
        if len(workers) == 1:
            return workers[0]
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise BenchError(
                f"{server.name}'s gunicorn master (pid {master.pid}) has {len(workers)} workers; expected 1. "
                f"Its log:\n{tail(server.log_path)}"
            )
        time.sleep(0.1)


def cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    """Sum the user and system CPU seconds of the processes that still exist."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def cpu_snapshot(watched: WatchedProcesses) -> CpuSnapshot:
    """Read the cumulative CPU seconds of the server and of this load generator."""
    return CpuSnapshot(
        at=time.monotonic(),
        gunicorn_s=cpu_seconds([watched.master, watched.worker]),
        helpers_s=cpu_seconds(watched.helpers),
        load_generator_s=cpu_seconds([psutil.Process()]),
        machine_busy_s=machine_busy_seconds(),
    )


def machine_busy_seconds() -> float:
    """Return the CPU seconds every process on the machine has used since boot, all cores summed."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def other_cpu_percent(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """Return the CPU, in percent of one core, that processes other than this server and the phones used."""
    ours = (after.gunicorn_s + after.helpers_s + after.load_generator_s) - (
        before.gunicorn_s + before.helpers_s + before.load_generator_s
    )
    others = (after.machine_busy_s - before.machine_busy_s - ours) / (after.at - before.at) * 100
    # Both counters tick in 10 ms steps and are read microseconds apart, so an idle machine can come out
    # slightly below zero.
    return max(others, 0.0)


def rss_high_water_mb(process: psutil.Process) -> float:
    """Return the kernel's peak RSS of a process since it started (VmHWM), in MB (MiB), or NaN."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return math.nan
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else math.nan


class RssSampler:
    """Samples the worker's RSS every 0.2 s until stopped or until its deadline."""

    def __init__(self, worker: psutil.Process, deadline: float) -> None:
        self.worker = worker
        self.deadline = deadline
        self.samples: list[tuple[float, int]] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Sample until ``stop`` is set or the deadline passes."""
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.samples.append((time.monotonic(), self.worker.memory_info().rss))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), RSS_SAMPLE_INTERVAL_S)

    def peak_mb(self, since: float = 0.0, until: float = math.inf) -> float:
        """Return the largest RSS sampled between two monotonic times, in MB (MiB)."""
        values = [rss for at, rss in self.samples if since <= at <= until]
        return max(values, default=0) / BYTES_PER_MB


# Phones


def open_phone_session(address: str) -> aiohttp.ClientSession:
    """Open a phone's HTTP client: its own cookies, source address and 6 connections."""
    connector = aiohttp.TCPConnector(
        limit=BROWSER_CONNECTIONS_PER_HOST,
        limit_per_host=BROWSER_CONNECTIONS_PER_HOST,
        keepalive_timeout=CLIENT_KEEPALIVE_S,
        local_addr=(address, 0),
    )
    # unsafe=True: aiohttp's cookie jar otherwise drops cookies set by an IP address host.
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


async def read_csrf_token(session: aiohttp.ClientSession, site: Site) -> str:
    """Load the login form and return its hidden csrf_token."""
    async with session.get(site.base_url + "/login") as response:
        page = await response.text()
        if response.status != 200:
            raise BenchError(f"GET {site.base_url}/login returned {response.status}; expected 200")
    match = CSRF_PATTERN.search(page)
    if match is None:
        raise BenchError(f"the login form of {site.base_url} has no csrf_token field")
    return match.group(1)


async def sign_in(session: aiohttp.ClientSession, site: Site) -> None:
    """Sign in through the login form as a browser does, keeping the session cookie."""
    if site.credentials is None:
        return
    form = {
        "username": site.credentials.username,
        "password": site.credentials.password,
        "csrf_token": await read_csrf_token(session, site),
    }
    async with session.post(site.base_url + "/login", data=form, allow_redirects=False) as response:
        await response.read()
        if response.status != 302:
            raise BenchError(f"POST {site.base_url}/login returned {response.status}; expected a 302 redirect")


async def sign_in_all(sessions: Sequence[aiohttp.ClientSession], site: Site) -> None:
    """Sign every phone in, two at a time, because each argon2 check allocates tens of MB for a moment."""
    limit = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def one(session: aiohttp.ClientSession) -> None:
        async with limit:
            await sign_in(session, site)

    await asyncio.gather(*(one(session) for session in sessions))


async def fetch(session: aiohttp.ClientSession, site: Site, fragment: str, path: str) -> RequestRecord:
    """Fetch one fragment as htmx does, recording a failed request with status 0."""
    started = time.monotonic()
    status, size, error = 0, 0, None
    try:
        async with session.get(site.base_url + path, headers=HTMX_HEADERS, allow_redirects=False) as response:
            body = await response.read()
            status, size = response.status, len(body)
    except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
        error = type(failure).__name__
    finished = time.monotonic()
    return RequestRecord(fragment, finished, finished - started, status, size, error)


async def poll_round(session: aiohttp.ClientSession, site: Site, records: list[RequestRecord]) -> None:
    """Fetch every fragment of the site at once, 6 at a time as the connector allows."""
    results = await asyncio.gather(*(fetch(session, site, name, path) for name, path in site.fragments))
    records.extend(results)


async def run_phone(
    session: aiohttp.ClientSession, site: Site, first_round_at: float, stop_at: float, records: list[RequestRecord]
) -> None:
    """Start a round every 2 s from ``first_round_at`` until ``stop_at``, never waiting for a slow one."""
    rounds: list[asyncio.Task[None]] = []
    round_at = first_round_at
    while round_at < stop_at:
        await sleep_until(round_at)
        rounds.append(asyncio.create_task(poll_round(session, site, records)))
        round_at += POLL_INTERVAL_S
    await asyncio.gather(*rounds)


# One level


@dataclass(frozen=True)
class Window:
    """The monotonic times of one level: polling starts, measuring starts, everything stops."""

    start: float
    measure_from: float
    measure_until: float


async def poll_and_measure(
    sessions: Sequence[aiohttp.ClientSession], site: Site, watched: WatchedProcesses, window: Window
) -> tuple[list[RequestRecord], CpuSnapshot, CpuSnapshot]:
    """Run the phones, staggered over the first 2 s, and read CPU times at the window's edges."""
    records: list[RequestRecord] = []
    stagger_s = POLL_INTERVAL_S / len(sessions)
    phones = [
        asyncio.create_task(run_phone(session, site, window.start + index * stagger_s, window.measure_until, records))
        for index, session in enumerate(sessions)
    ]
    await sleep_until(window.measure_from)
    before = cpu_snapshot(watched)
    await sleep_until(window.measure_until)
    after = cpu_snapshot(watched)
    await asyncio.gather(*phones)
    return records, before, after


def fragment_stats(records: Sequence[RequestRecord]) -> FragmentStats:
    """Summarise the requests of one fragment."""
    latencies = [r.latency_s * 1000 for r in records]
    sizes = [r.size_bytes for r in records if r.status == 200]
    return FragmentStats(
        requests=len(records),
        errors=sum(1 for r in records if r.status != 200),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        mean_bytes=sum(sizes) / len(sizes) if sizes else 0.0,
    )


def error_kinds(records: Sequence[RequestRecord]) -> dict[str, int]:
    """Count the failed requests by HTTP status or by exception name."""
    return dict(Counter(r.error or f"HTTP {r.status}" for r in records if r.status != 200))


def summarise_level(
    site: Site, phones: int, records: Sequence[RequestRecord], before: CpuSnapshot, after: CpuSnapshot
) -> LevelResult:
    """Turn the raw records and CPU readings of one level into its figures."""
    measured = [r for r in records if before.at <= r.finished_at <= after.at]
    window_s = after.at - before.at
    server_cpu_s = after.gunicorn_s - before.gunicorn_s
    overall = fragment_stats(measured)
    by_fragment = {name: fragment_stats([r for r in measured if r.fragment == name]) for name, _ in site.fragments}
    return LevelResult(
        site=site.name,
        phones=phones,
        window_s=window_s,
        requests=overall.requests,
        scheduled_per_s=phones * len(site.fragments) / POLL_INTERVAL_S,
        requests_per_s=overall.requests / window_s,
        errors=overall.errors,
        error_kinds=error_kinds(measured),
        p50_ms=overall.p50_ms,
        p99_ms=overall.p99_ms,
        server_cpu_s=server_cpu_s,
        server_cpu_percent=server_cpu_s / window_s * 100,
        cpu_s_per_1000_requests=server_cpu_s / overall.requests * 1000 if overall.requests else math.nan,
        helper_cpu_s=after.helpers_s - before.helpers_s,
        load_generator_cpu_percent=(after.load_generator_s - before.load_generator_s) / window_s * 100,
        other_cpu_percent=other_cpu_percent(before, after),
        peak_rss_mb=0.0,
        peak_rss_polling_mb=0.0,
        rss_high_water_mb=0.0,
        worker_restarted=False,
        fragments=by_fragment,
    )


async def run_level(site: Site, server: ServerProcess, phones: int, config: BenchConfig) -> LevelResult:
    """Sign ``phones`` phones in, poll through warm-up and the measured window, and summarise."""
    workers_before = len(server.worker_pids)
    watched = watch_server(server)
    sampler = RssSampler(watched.worker, time.monotonic() + config.warmup_s + config.duration_s + RSS_SAMPLER_SLACK_S)
    sampler_task = asyncio.create_task(sampler.run())
    sessions = [open_phone_session(phone_address(index)) for index in range(phones)]
    try:
        await sign_in_all(sessions, site)
        start = time.monotonic() + 0.1
        window = Window(start, start + config.warmup_s, start + config.warmup_s + config.duration_s)
        records, before, after = await poll_and_measure(sessions, site, watched, window)
    finally:
        sampler.stop.set()
        await sampler_task
        await asyncio.gather(*(session.close() for session in sessions))
    result = summarise_level(site, phones, records, before, after)
    result.peak_rss_mb = sampler.peak_mb()
    result.peak_rss_polling_mb = sampler.peak_mb(before.at, after.at)
    result.rss_high_water_mb = rss_high_water_mb(watched.worker)
    watch_server(server)
    # A first level has nothing to compare with; later ones also catch a worker lost between levels.
    result.worker_restarted = len(server.worker_pids) > max(workers_before, 1)
    return result


# Probes and idle


async def fetch_tiles(session: aiohttp.ClientSession, site: Site) -> dict[str, bytes]:
    """Fetch every tile once, one after another, and return their bodies."""
    bodies = {}
    for name, path in site.fragments:
        async with session.get(site.base_url + path, headers=HTMX_HEADERS, allow_redirects=False) as response:
            if response.status != 200:
                raise BenchError(f"GET {path} returned {response.status} after sign-in; expected 200")
            bodies[name] = await response.read()
    return bodies


def tiles_ready(bodies: dict[str, bytes], expected_containers: int) -> bool:
    """Tell whether the tiles show a reading and list every bench container."""
    text = {name: body.decode(errors="replace") for name, body in bodies.items()}
    waiting = any(marker in body for body in text.values() for marker in WAITING_MARKERS)
    listed = text.get("containers", "").count(container_name_prefix())
    return not waiting and listed >= expected_containers


async def probe_webadmin(site: Site, expected_containers: int) -> dict[str, int]:
    """Sign in once, fetch the tiles until telemetry and containers show, and return their sizes."""
    deadline = time.monotonic() + FIRST_READING_TIMEOUT_S
    async with open_phone_session(PROBE_ADDRESS) as session:
        await sign_in(session, site)
        bodies = await fetch_tiles(session, site)
        while not tiles_ready(bodies, expected_containers) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            bodies = await fetch_tiles(session, site)
    if not tiles_ready(bodies, expected_containers):
        logger.warning(
            "After %g s the tiles still wait for telemetry or containers, so they are measured as they are",
            FIRST_READING_TIMEOUT_S,
        )
    return {name: len(body) for name, body in bodies.items()}


async def probe_minimal(site: Site) -> dict[str, int]:
    """Fetch the minimal route once and return its size."""
    async with open_phone_session(PROBE_ADDRESS) as session:
        record = await fetch(session, site, "fragment", MINIMAL_FRAGMENT_PATH)
    if record.status != 200:
        raise BenchError(f"the minimal app returned {record.error or record.status} for {MINIMAL_FRAGMENT_PATH}")
    return {"fragment": record.size_bytes}


async def measure_idle(servers: Sequence[ServerProcess], seconds: float) -> list[IdleResult]:
    """Measure each server's CPU with no phone polling, all in the same window."""
    watched = [watch_server(server) for server in servers]
    before = [cpu_snapshot(w) for w in watched]
    await asyncio.sleep(seconds)
    after = [cpu_snapshot(w) for w in watched]
    return [
        IdleResult(
            site=server.name,
            window_s=end.at - start.at,
            server_cpu_percent=(end.gunicorn_s - start.gunicorn_s) / (end.at - start.at) * 100,
            helper_cpu_percent=(end.helpers_s - start.helpers_s) / (end.at - start.at) * 100,
            rss_mb=w.worker.memory_info().rss / BYTES_PER_MB,
        )
        for server, w, start, end in zip(servers, watched, before, after, strict=True)
    ]


# Whole run


def webadmin_site(server: ServerProcess, credentials: Credentials) -> Site:
    """Describe webadmin: every dashboard tile per round, behind the login form."""
    fragments = tuple((name, f"/tiles/{name}") for name in TILES)
    return Site("webadmin", server.url, fragments, credentials)


def minimal_site(server: ServerProcess) -> Site:
    """Describe the minimal app: as many requests per round as webadmin, all to one route."""
    fragments = tuple(("fragment", MINIMAL_FRAGMENT_PATH) for _ in TILES)
    return Site("minimal", server.url, fragments, None)


async def run_levels(sites: Sequence[tuple[Site, ServerProcess]], config: BenchConfig) -> list[LevelResult]:
    """Run each level on webadmin, then on the minimal app, before the next level starts."""
    results = []
    for phones in config.phones:
        for site, server in sites:
            logger.info(
                "Polling %s, phones: %d, warm-up %g s, measured %g s",
                site.name,
                phones,
                config.warmup_s,
                config.duration_s,
            )
            result = await run_level(site, server, phones, config)
            logger.info(
                "Polled %s, phones: %d: %.1f req/s, p99 %.1f ms, %d errors",
                site.name,
                phones,
                result.requests_per_s,
                result.p99_ms,
                result.errors,
            )
            results.append(result)
    return results


async def run_benchmark(
    webadmin: ServerProcess,
    minimal: ServerProcess,
    credentials: Credentials,
    config: BenchConfig,
    expected_containers: int,
) -> tuple[dict[str, dict[str, int]], list[IdleResult], list[LevelResult]]:
    """Probe both servers, measure them idle, then run every level."""
    sites = [(webadmin_site(webadmin, credentials), webadmin), (minimal_site(minimal), minimal)]
    sizes = {
        "webadmin": await probe_webadmin(sites[0][0], expected_containers),
        "minimal": await probe_minimal(sites[1][0]),
    }
    logger.info("Measuring both servers idle for %g s", config.idle_s)
    idle = await measure_idle([webadmin, minimal], config.idle_s)
    return sizes, idle, await run_levels(sites, config)


# Report


def find_level(levels: Sequence[LevelResult], site: str, phones: int) -> LevelResult | None:
    """Return the result of one site at one phone count, if that level ran."""
    return next((r for r in levels if r.site == site and r.phones == phones), None)


def check_p99(levels: Sequence[LevelResult]) -> TargetCheck:
    """Target (a): webadmin's p99 at 50 phones is within 2x the minimal route's."""
    name = f"(a) p99 at {TARGET_P99_PHONES} phones within {TARGET_P99_RATIO:g}x the minimal route's p99"
    ours = find_level(levels, "webadmin", TARGET_P99_PHONES)
    base = find_level(levels, "minimal", TARGET_P99_PHONES)
    if ours is None or base is None:
        return TargetCheck(name, None, f"not measured: no {TARGET_P99_PHONES}-phone level in this run")
    ratio = ours.p99_ms / base.p99_ms
    detail = (
        f"webadmin {ours.p99_ms:.1f} ms vs minimal {base.p99_ms:.1f} ms = {ratio:.2f}x (limit {TARGET_P99_RATIO:g}x)"
    )
    return TargetCheck(name, ratio <= TARGET_P99_RATIO, detail)


def check_rss(levels: Sequence[LevelResult]) -> TargetCheck:
    """Target (b): webadmin's worker stays under 80 MB RSS, sign-ins included."""
    name = f"(b) webadmin worker peak RSS under {TARGET_PEAK_RSS_MB:g} MB"
    ours = [r for r in levels if r.site == "webadmin"]
    peak = max((r.peak_rss_mb for r in ours), default=math.nan)
    polling = max((r.peak_rss_polling_mb for r in ours), default=math.nan)
    high_water = max((r.rss_high_water_mb for r in ours), default=math.nan)
    detail = (
        f"sampled peak {peak:.1f} MB over whole levels (sign-ins included), {polling:.1f} MB in the measured windows, "
        f"kernel VmHWM {high_water:.1f} MB"
    )
    # VmHWM also catches a spike shorter than the 0.2 s sampling interval, such as one sign-in.
    return TargetCheck(name, max(peak, high_water) < TARGET_PEAK_RSS_MB, detail)


def check_one_phone(levels: Sequence[LevelResult]) -> TargetCheck:
    """Target (c): one phone polling costs webadmin under 2 % of one core."""
    name = f"(c) one phone polling costs under {TARGET_ONE_PHONE_CPU_PERCENT:g} % of one core"
    ours = find_level(levels, "webadmin", 1)
    if ours is None:
        return TargetCheck(name, None, "not measured: no 1-phone level in this run")
    spent = f"{ours.server_cpu_s:.2f} CPU s in {ours.window_s:.1f} s"
    detail = f"{ours.server_cpu_percent:.2f} % ({spent}, the sampler's and container cache's work included)"
    return TargetCheck(name, ours.server_cpu_percent < TARGET_ONE_PHONE_CPU_PERCENT, detail)


def level_rows(ours: LevelResult, base: LevelResult) -> list[tuple[str, str, str]]:
    """Return the side-by-side rows of one level."""

    def both(attribute: str, spec: str) -> tuple[str, str]:
        return format(getattr(ours, attribute), spec), format(getattr(base, attribute), spec)

    return [
        ("p50 latency (ms)", *both("p50_ms", ".1f")),
        ("p99 latency (ms)", *both("p99_ms", ".1f")),
        (
            "requests/s (scheduled)",
            f"{ours.requests_per_s:.1f} ({ours.scheduled_per_s:g})",
            f"{base.requests_per_s:.1f} ({base.scheduled_per_s:g})",
        ),
        ("requests measured", *both("requests", "d")),
        ("errors (not 200)", *both("errors", "d")),
        ("server CPU s / 1000 req", *both("cpu_s_per_1000_requests", ".3f")),
        ("server CPU % of one core", *both("server_cpu_percent", ".1f")),
        ("worker peak RSS MB, polling", *both("peak_rss_polling_mb", ".1f")),
        ("worker peak RSS MB, whole level", *both("peak_rss_mb", ".1f")),
        ("worker VmHWM MB since start", *both("rss_high_water_mb", ".1f")),
        ("tegrastats replay CPU s", f"{ours.helper_cpu_s:.2f}", "-"),
        ("load generator CPU % of one core", *both("load_generator_cpu_percent", ".1f")),
        ("other processes CPU % of one core", *both("other_cpu_percent", ".1f")),
    ]


def format_level(ours: LevelResult, base: LevelResult) -> list[str]:
    """Format the side-by-side table of one level and webadmin's per-fragment table."""
    lines = [
        f"== {ours.phones} phone{'s' if ours.phones != 1 else ''} ({ours.window_s:.1f} s measured) ==",
        f"{'':34}{'webadmin':>18}{'minimal':>18}",
    ]
    lines += [f"{label:34}{left:>18}{right:>18}" for label, left, right in level_rows(ours, base)]
    for result in (ours, base):
        if result.error_kinds:
            lines.append(f"{result.site} errors by kind: {result.error_kinds}")
        if result.worker_restarted:
            lines.append(f"WARNING: {result.site}'s gunicorn worker was replaced during this level")
        if result.other_cpu_percent > BUSY_MACHINE_PERCENT:
            busy = f"other processes used {result.other_cpu_percent:.0f} % of one core"
            lines.append(f"WARNING: while {result.site} was measured, {busy}; its latencies include that contention")
    lines.append("")
    lines.append(f"  webadmin per fragment {'requests':>10}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'bytes':>8}")
    for name, stats in ours.fragments.items():
        latency = f"{stats.p50_ms:>9.1f}{stats.p99_ms:>9.1f}"
        lines.append(f"  {name:22} {stats.requests:>10d}{stats.errors:>8d}{latency}{stats.mean_bytes:>8.0f}")
    return lines


def format_header(report: BenchReport) -> list[str]:
    """Format the machine, versions and settings of the run."""
    machine, config = report.machine, report.config
    versions = ", ".join(f"{name} {version}" for name, version in report.versions.items())
    sizes = ", ".join(f"{name} {size}" for name, size in report.fragment_bytes["webadmin"].items())
    loads = ", ".join(f"{load:.2f}" for load in machine["load_average_at_start"])
    return [
        "webadmin polling benchmark",
        f"machine: {machine['cpu_model']}, {machine['logical_cores']} logical cores "
        f"({machine['physical_cores']} physical), {machine['memory_gb']:.1f} GB RAM, {machine['platform']}",
        f"load average at start (1, 5, 15 min): {loads}",
        f"versions: {versions}",
        f"servers: gunicorn, 1 gthread worker x {config['worker_threads']} threads, on {SERVER_HOST}; "
        f"load generator: this process (asyncio + aiohttp) on the same machine",
        f"phones: {', '.join(map(str, config['phones']))}; each polls {len(TILES)} fragments every {POLL_INTERVAL_S} s "
        f"over at most {BROWSER_CONNECTIONS_PER_HOST} connections; "
        f"warm-up {config['warmup_s']:g} s, measured {config['duration_s']:g} s per level",
        f"containers: {config['containers_note']}",
        f"fragment sizes at start (bytes): webadmin {sizes}; minimal {report.fragment_bytes['minimal']['fragment']}",
    ]


def format_idle(idle: Sequence[IdleResult]) -> list[str]:
    """Format the idle figures of both servers."""
    lines = [f"idle, no phones ({idle[0].window_s:.1f} s):"]
    for result in idle:
        helper = f", tegrastats replay {result.helper_cpu_percent:.2f} %" if result.site == "webadmin" else ""
        cpu = f"server CPU {result.server_cpu_percent:.2f} % of one core"
        lines.append(f"  {result.site:9} {cpu}, worker RSS {result.rss_mb:.1f} MB{helper}")
    return lines


def format_targets(targets: Sequence[TargetCheck]) -> list[str]:
    """Format the targets with PASS, FAIL or NOT RUN."""
    lines = ["== targets =="]
    for target in targets:
        verdict = "NOT RUN"
        if target.passed is not None:
            verdict = "PASS" if target.passed else "FAIL"
        lines.append(f"{verdict:8}{target.name}: {target.detail}")
    return lines


def format_server_log(server_log: dict[str, list[str]]) -> list[str]:
    """Format the server log lines at WARNING or above and the worker boots, per server."""
    lines = ["== server logs (WARNING and above, worker boots) =="]
    for name, found in server_log.items():
        lines.append(f"{name}: {len(found)} line{'s' if len(found) != 1 else ''}")
        lines += [f"  {line}" for line in found]
    return lines


def format_report(report: BenchReport) -> str:
    """Format the whole printed report."""
    lines = format_header(report) + [""] + format_idle(report.idle) + [""]
    for phones in report.config["phones"]:
        ours, base = find_level(report.levels, "webadmin", phones), find_level(report.levels, "minimal", phones)
        if ours and base:
            lines += format_level(ours, base) + [""]
    lines += format_targets(report.targets)
    lines += format_server_log(report.server_log)
    lines.append(
        "MB is MiB (1,048,576 bytes). Latency runs from the request's start to its last body byte, pool wait included."
    )
    return "\n".join(lines)


def describe_machine() -> dict[str, Any]:
    """Read the CPU model, core counts, memory and OS of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace") if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    return {
        "cpu_model": model or "unknown",
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": psutil.virtual_memory().total / 1024**3,
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def describe_versions() -> dict[str, str]:
    """Return the versions of Python and of the packages under test."""
    versions = {"python": platform.python_version()}
    for package in ("gunicorn", "flask", "werkzeug", "aiohttp", "webadmin"):
        versions[package] = importlib.metadata.version(package)
    return versions


def write_json(report: BenchReport, path: Path) -> None:
    """Write every figure of the report as JSON, with null for NaN (a level without requests)."""
    text = json.dumps(asdict(report), indent=2, default=str)
    path.write_text(re.sub(r"\bNaN\b", "null", text) + "\n")
    logger.info("Wrote the raw figures to %s", path)


# Command line


def parse_phones(text: str) -> tuple[int, ...]:
    """Parse a comma-separated list of phone counts, such as 1,10,50."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers, such as 1,10,50"
        ) from None
    if not counts or any(not 1 <= count <= MAX_PHONES for count in counts):
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: each phone count must be from 1 to {MAX_PHONES}")
    return counts


def positive_seconds(text: str) -> float:
    """Parse a duration in seconds that is greater than 0 and at most 600."""
    value = float(text)
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: expected seconds above 0 and at most 600")
    return value


def parse_args(argv: Sequence[str] | None) -> BenchConfig:
    """Read the command line into a BenchConfig."""
    parser = argparse.ArgumentParser(
        description="Measure the cost of phones polling the webadmin dashboard, next to a minimal Flask route."
    )
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        help=f"Seconds measured per level and server (default {DEFAULT_DURATION_S:g}, --quick {QUICK_DURATION_S:g}).",
    )
    parser.add_argument(
        "--warmup",
        type=positive_seconds,
        help=f"Seconds polled before each measured window (default {DEFAULT_WARMUP_S:g}, --quick {QUICK_WARMUP_S:g}).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="Short run to check that everything works. Its figures are noisy."
    )
    parser.add_argument(
        "--phones",
        type=parse_phones,
        default=DEFAULT_PHONES,
        help="Comma-separated phone counts, one level each (default 1,10,50).",
    )
    parser.add_argument(
        "--containers",
        type=int,
        choices=range(MAX_CONTAINERS + 1),
        default=DEFAULT_CONTAINERS,
        metavar=f"0-{MAX_CONTAINERS}",
        help=f"Busybox containers to start for the container tile (default {DEFAULT_CONTAINERS}).",
    )
    parser.add_argument("--json", type=Path, help="Also write the raw figures to this JSON file.")
    args = parser.parse_args(argv)
    return BenchConfig(
        phones=args.phones,
        duration_s=args.duration or (QUICK_DURATION_S if args.quick else DEFAULT_DURATION_S),
        warmup_s=args.warmup or (QUICK_WARMUP_S if args.quick else DEFAULT_WARMUP_S),
        idle_s=QUICK_IDLE_S if args.quick else DEFAULT_IDLE_S,
        containers=args.containers,
        json_path=args.json,
    )


def raise_keyboard_interrupt(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, so the cleanup runs as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def running_servers(
    config: BenchConfig, credentials: Credentials
) -> Iterator[tuple[ServerProcess, ServerProcess, BenchContainers]]:
    """Start the containers and both servers, and stop and remove all of them on the way out."""
    with contextlib.ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="webadmin-bench-")))
        containers = BenchContainers()
        stack.callback(containers.remove)
        start_containers(config.containers, containers)
        webadmin = start_webadmin(work_dir, credentials)
        stack.callback(stop_server, webadmin)
        minimal = start_minimal(work_dir)
        stack.callback(stop_server, minimal)
        try:
            yield webadmin, minimal, containers
        except Exception:
            # The logs go with the temporary directory, so show them before it is removed.
            for server in (webadmin, minimal):
                logger.error("Last lines of %s's log:\n%s", server.name, tail(server.log_path))
            raise


def build_report(
    machine: dict[str, Any],
    config: BenchConfig,
    containers: BenchContainers,
    outcome: tuple[dict[str, dict[str, int]], list[IdleResult], list[LevelResult]],
    server_log: dict[str, list[str]],
) -> BenchReport:
    """Collect the run's settings and figures and check the targets."""
    from webadmin.server import WORKER_THREADS

    sizes, idle, levels = outcome
    settings = {**asdict(config), "containers_note": containers.note, "worker_threads": WORKER_THREADS}
    targets = [check_p99(levels), check_rss(levels), check_one_phone(levels)]
    return BenchReport(machine, describe_versions(), settings, sizes, idle, levels, targets, server_log)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report and return the exit status."""
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGHUP, raise_keyboard_interrupt)
    # A fresh password per run: the user lives only in a temporary data directory.
    credentials = Credentials(BENCH_USER, secrets.token_urlsafe(18))
    machine = describe_machine()
    try:
        with running_servers(config, credentials) as (webadmin, minimal, containers):
            expected = len(containers.container_ids)
            outcome = asyncio.run(run_benchmark(webadmin, minimal, credentials, config, expected))
            server_log = {server.name: log_problems(server.log_path) for server in (webadmin, minimal)}
    except BenchError as error:
        logger.error("The benchmark failed: %s", error)
        return 1
    except KeyboardInterrupt:
        logger.error("Interrupted. The servers and containers were stopped and removed")
        return 130
    report = build_report(machine, config, containers, outcome, server_log)
    print(format_report(report))
    if config.json_path is not None:
        write_json(report, config.json_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
