"""Container state from the Docker engine through the Docker SDK.

Reads each container's name, compose service, state, health, start time,
restart count, image and published ports, and for running containers their
CPU (percent of one core) and memory (MB) from one-shot stats. CPU load is the
change of the container's CPU time between two reads, since a one-shot stats
call carries no previous sample.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import docker
import requests
from docker.errors import DockerException, NotFound

logger = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
API_TIMEOUT_S = 5
# At most this many stats calls at once, below the SDK's pool of 10 connections.
STATS_WORKERS = 8
BYTES_PER_MB = 1024 * 1024
NANOSECONDS_PER_SECOND = 1e9


class EngineUnreachable(Exception):
    """The engine is unreachable; the message names the URL and the reason."""


@dataclass(frozen=True)
class ContainerInfo:
    """One container as the panel and the API show it."""

    id: str
    name: str
    service: str | None
    project: str | None
    state: str
    health: str | None
    started_at: datetime | None
    restart_count: int
    image: str
    ports: tuple[str, ...]
    cpu_percent: float | None = None
    memory_mb: float | None = None
    memory_limit_mb: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Build the container document of the JSON API."""
        started = self.started_at.isoformat().replace("+00:00", "Z") if self.started_at else None
        return {
            "id": self.id[:12],
            "name": self.name,
            "service": self.service,
            "project": self.project,
            "state": self.state,
            "health": self.health,
            "started_at": started,
            "restart_count": self.restart_count,
            "image": self.image,
            "ports": list(self.ports),
            "cpu_percent": self.cpu_percent,
            "memory_mb": self.memory_mb,
            "memory_limit_mb": self.memory_limit_mb,
        }


@dataclass
class _CpuCounter:
    container_ns: int
    system_ns: int
    online_cpus: int


@dataclass
class DockerReader:
    """Lists containers and their stats; ``client_factory`` builds the SDK client."""

    base_url: str
    project: str = ""
    client_factory: Callable[[str], Any] | None = None
    _client: Any = None
    _cpu_counters: dict[str, _CpuCounter] = field(default_factory=dict)

    def list_containers(self) -> list[ContainerInfo]:
        """Return every container of the project (or all), skipping ones that vanish meanwhile."""
        try:
            client = self._connect()
            summaries = client.api.containers(all=True, filters=self._filters())
            containers = [c for c in (self._inspect(client, s["Id"]) for s in summaries) if c]
        except (DockerException, requests.RequestException, OSError) as error:
            self._client = None
            raise EngineUnreachable(describe_failure(self.base_url, error)) from error
        return sorted(containers, key=lambda c: (c.project or "", c.service or c.name))

    def add_stats(self, containers: Iterable[ContainerInfo]) -> list[ContainerInfo]:
        """Fill in CPU and memory of running containers, dropping ones removed meanwhile."""
        listed = list(containers)
        running = [c for c in listed if c.state == "running"]
        # dockerd 20.10 takes about a second per one-shot stats call, so the
        # calls run side by side instead of one after another.
        with ThreadPoolExecutor(max_workers=STATS_WORKERS, thread_name_prefix="docker-stats") as pool:
            with_stats = dict(zip([c.id for c in running], pool.map(self._with_stats, running), strict=True))
        # A running container whose stats call found it gone maps to None.
        refreshed = [with_stats.get(c.id, c) for c in listed]
        return [c for c in refreshed if c is not None]

    def close(self) -> None:
        """Close the connection pool."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _connect(self) -> Any:
        if self._client is None:
            factory = self.client_factory or _default_client
            self._client = factory(self.base_url)
        return self._client

    def _filters(self) -> dict[str, str]:
        return {"label": f"{PROJECT_LABEL}={self.project}"} if self.project else {}

    def _inspect(self, client: Any, container_id: str) -> ContainerInfo | None:
        try:
            attrs = client.api.inspect_container(container_id)
        except NotFound:
            # Removed between the list and the inspect: it is simply gone.
            logger.debug("Container %s vanished before it could be inspected", container_id[:12])
            return None
        return container_from_attrs(attrs)

    def _with_stats(self, container: ContainerInfo) -> ContainerInfo | None:
        try:
            stats = self._connect().api.stats(container.id, stream=False, one_shot=True)
        except NotFound:
            logger.debug("Container %s vanished before its stats could be read", container.id[:12])
            self._cpu_counters.pop(container.id, None)
            return None
        except (DockerException, requests.RequestException, OSError) as error:
            logger.debug("Reading stats of %s failed: %s", container.name, error)
            return container
        memory_mb, limit_mb = _memory(stats)
        cpu_percent = self._cpu_percent(container.id, stats)
        return replace(container, cpu_percent=cpu_percent, memory_mb=memory_mb, memory_limit_mb=limit_mb)

    def _cpu_percent(self, container_id: str, stats: dict[str, Any]) -> float | None:
        cpu = stats.get("cpu_stats") or {}
        current = _CpuCounter(
            container_ns=int(cpu.get("cpu_usage", {}).get("total_usage", 0)),
            system_ns=int(cpu.get("system_cpu_usage", 0)),
            online_cpus=int(cpu.get("online_cpus") or 1),
        )
        previous = self._cpu_counters.get(container_id)
        self._cpu_counters[container_id] = current
        if previous is None or current.system_ns <= previous.system_ns:
            return None
        container_delta = max(current.container_ns - previous.container_ns, 0)
        system_delta = current.system_ns - previous.system_ns
        # system_cpu_usage counts all cores, so scale to percent of one core.
        return round(container_delta / system_delta * current.online_cpus * 100, 1)

    def forget_missing(self, present_ids: set[str]) -> None:
        """Drop CPU counters of containers that no longer exist."""
        for container_id in set(self._cpu_counters) - present_ids:
            del self._cpu_counters[container_id]


def _default_client(base_url: str) -> Any:
    return docker.DockerClient(base_url=base_url, timeout=API_TIMEOUT_S)


def container_from_attrs(attrs: dict[str, Any]) -> ContainerInfo:
    """Build a ContainerInfo from the engine's inspect document."""
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    return ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        service=labels.get(SERVICE_LABEL),
        project=labels.get(PROJECT_LABEL),
        state=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        started_at=_parse_time(state.get("StartedAt"))
        if state.get("Status") in ("running", "restarting", "paused")
        else None,
        restart_count=int(attrs.get("RestartCount") or 0),
        image=config.get("Image") or attrs.get("Image", ""),
        ports=_ports((attrs.get("NetworkSettings") or {}).get("Ports") or {}),
    )


def _ports(ports: dict[str, Any]) -> tuple[str, ...]:
    published = []
    for container_port, bindings in sorted(ports.items()):
        for binding in bindings or []:
            published.append(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{container_port}")
    return tuple(published)


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-"):
        return None
    # The engine prints nanoseconds; datetime takes at most microseconds.
    trimmed = value.rstrip("Z")
    if "." in trimmed:
        seconds, fraction = trimmed.split(".", 1)
        trimmed = f"{seconds}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(trimmed).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _memory(stats: dict[str, Any]) -> tuple[float | None, float | None]:
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None, None
    # Match `docker stats`: page cache that can be dropped does not count.
    details = memory.get("stats") or {}
    inactive = details.get("inactive_file") or details.get("total_inactive_file") or 0
    limit = memory.get("limit")
    return round((usage - inactive) / BYTES_PER_MB, 1), round(limit / BYTES_PER_MB, 1) if limit else None


_REASONS: tuple[tuple[Callable[[BaseException], bool], str], ...] = (
    (lambda e: isinstance(e, PermissionError) or getattr(e, "errno", None) == errno.EACCES, "permission denied"),
    (
        lambda e: isinstance(e, FileNotFoundError) or getattr(e, "errno", None) == errno.ENOENT,
        "the socket does not exist (is the Docker daemon running?)",
    ),
    (
        lambda e: isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED,
        "connection refused (the daemon is not running)",
    ),
    (
        lambda e: isinstance(e, (socket.timeout, TimeoutError, requests.Timeout)),
        f"the daemon did not answer within {API_TIMEOUT_S} s",
    ),
)


def describe_failure(base_url: str, error: BaseException) -> str:
    """Say where webadmin looked for the engine and why it failed, in plain words."""
    socket_path = base_url.removeprefix("unix://") if base_url.startswith("unix://") else None
    if socket_path and os.path.exists(socket_path) and not stat.S_ISSOCK(os.stat(socket_path).st_mode):
        return f"Docker is not reachable at {base_url}: {socket_path} is not a socket"
    for cause in _causes(error):
        for matches, reason in _REASONS:
            if matches(cause):
                return f"Docker is not reachable at {base_url}: {reason}"
    return f"Docker is not reachable at {base_url}: {type(error).__name__}: {str(error)[:200]}"


def _causes(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    pending: list[Any] = [error]
    while pending and len(found) < 20:
        current = pending.pop(0)
        if isinstance(current, (tuple, list)):
            pending.extend(current)
            continue
        if not isinstance(current, BaseException) or current in found:
            continue
        found.append(current)
        pending.extend([current.__cause__, current.__context__, *current.args])
    return found
