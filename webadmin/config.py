"""Settings read from the environment, each checked before anything starts."""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TELEMETRY_CHOICES = ("auto", "jtop", "tegrastats", "host")
DEFAULT_BIND = "127.0.0.1:8080"
DEFAULT_TEGRASTATS_CMD = "tegrastats --interval 1000"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DOCKER_HOST_SCHEMES = ("unix", "tcp", "http", "https", "ssh", "npipe")


class ConfigError(ValueError):
    """A setting has a value webadmin cannot use."""

    def __init__(self, name: str, value: str, allowed: str) -> None:
        super().__init__(f"{name}={value!r} is invalid: {allowed}")
        self.name = name


@dataclass(frozen=True)
class Settings:
    """Every setting webadmin reads, already validated."""

    bind_host: str
    bind_port: int
    data_dir: Path
    telemetry: str
    tegrastats_cmd: tuple[str, ...]
    compose_project: str
    frame_ancestors: tuple[str, ...]
    docker_host: str

    @property
    def bind(self) -> str:
        """Return the address gunicorn listens on, as ``host:port``."""
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        return f"{host}:{self.bind_port}"


def default_data_dir() -> Path:
    """Return the per-user data directory used when none is set."""
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "webadmin"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError on the first bad one."""
    env = os.environ if environ is None else environ
    host, port = _parse_bind(_get(env, "WEBADMIN_BIND", DEFAULT_BIND))
    return Settings(
        bind_host=host,
        bind_port=port,
        data_dir=_parse_data_dir(env.get("WEBADMIN_DATA_DIR", "")),
        telemetry=_parse_choice(env, "WEBADMIN_TELEMETRY", TELEMETRY_CHOICES),
        tegrastats_cmd=_parse_command(_get(env, "WEBADMIN_TEGRASTATS_CMD", DEFAULT_TEGRASTATS_CMD)),
        compose_project=_parse_project(env.get("WEBADMIN_COMPOSE_PROJECT", "")),
        frame_ancestors=_parse_origins(env.get("WEBADMIN_FRAME_ANCESTORS", "")),
        docker_host=_parse_docker_host(_get(env, "DOCKER_HOST", DEFAULT_DOCKER_HOST)),
    )


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _parse_bind(value: str) -> tuple[str, int]:
    allowed = "expected HOST:PORT with an IP address and a port from 1 to 65535, such as 127.0.0.1:8080"
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port_text.isdigit():
        raise ConfigError("WEBADMIN_BIND", value, allowed)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError("WEBADMIN_BIND", value, allowed) from None
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ConfigError("WEBADMIN_BIND", value, allowed)
    return host, port


def _parse_data_dir(value: str) -> Path:
    if not value.strip():
        return default_data_dir()
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ConfigError("WEBADMIN_DATA_DIR", value, "expected an absolute path")
    if path.exists() and not path.is_dir():
        raise ConfigError("WEBADMIN_DATA_DIR", value, "the path exists and is not a directory")
    return path


def _parse_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = _get(env, name, choices[0]).lower()
    if value not in choices:
        raise ConfigError(name, value, "expected one of " + ", ".join(choices))
    return value


def _parse_command(value: str) -> tuple[str, ...]:
    allowed = "expected a command line such as 'tegrastats --interval 1000'"
    try:
        argv = tuple(shlex.split(value))
    except ValueError:
        raise ConfigError("WEBADMIN_TEGRASTATS_CMD", value, allowed) from None
    if not argv:
        raise ConfigError("WEBADMIN_TEGRASTATS_CMD", value, allowed)
    return argv


def _parse_project(value: str) -> str:
    project = value.strip()
    # Compose project names: lower-case letters, digits, dashes and underscores.
    if project and not all(c.isdigit() or c in "-_" or "a" <= c <= "z" for c in project):
        raise ConfigError(
            "WEBADMIN_COMPOSE_PROJECT",
            value,
            "expected a compose project name (lower-case letters, digits, '-' and '_') or nothing for all containers",
        )
    return project


def _parse_docker_host(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in DOCKER_HOST_SCHEMES or not rest:
        allowed = "expected an engine URL such as unix:///var/run/docker.sock or tcp://127.0.0.1:2375"
        raise ConfigError("DOCKER_HOST", value, allowed)
    return value


def _parse_origins(value: str) -> tuple[str, ...]:
    origins = value.replace(",", " ").split()
    for origin in origins:
        if not _is_origin(origin):
            raise ConfigError(
                "WEBADMIN_FRAME_ANCESTORS",
                value,
                f"{origin!r} is not an origin; expected space-separated origins such as http://homepage.lan:3000",
            )
    return tuple(origins)


def _is_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    has_extra = parts.path not in ("", "/") or parts.query or parts.fragment
    bad_char = any(c in origin for c in ";'\"")
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not has_extra and not bad_char


SETTING_NAMES: tuple[str, ...] = (
    "WEBADMIN_BIND",
    "WEBADMIN_DATA_DIR",
    "WEBADMIN_TELEMETRY",
    "WEBADMIN_TEGRASTATS_CMD",
    "WEBADMIN_COMPOSE_PROJECT",
    "WEBADMIN_FRAME_ANCESTORS",
    "DOCKER_HOST",
)
