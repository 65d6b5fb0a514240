"""The background parts of a running webadmin: the sampler and the container cache.

They are built by ``create_app`` but started separately, after gunicorn forks
its worker, because threads do not survive a fork.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psutil

from .config import Settings
from .container_cache import ContainerCache
from .sampler import Sampler, SourceFactory
from .security import SETUP_TOKEN_TTL_S, hash_token, new_token
from .sources.docker import DockerReader
from .sources.host import HostSource, host_extras
from .sources.jtop import JtopSource
from .sources.tegrastats import TegrastatsSource
from .store import Store

logger = logging.getLogger(__name__)


def source_chain(settings: Settings) -> list[tuple[str, SourceFactory]]:
    """Return the telemetry sources to try, best first, for the configured choice."""
    factories: dict[str, SourceFactory] = {
        "jtop": JtopSource,
        "tegrastats": lambda: TegrastatsSource(settings.tegrastats_cmd),
        "host": HostSource,
    }
    names = ["jtop", "tegrastats", "host"] if settings.telemetry == "auto" else [settings.telemetry]
    return [(name, factories[name]) for name in names]


@dataclass
class Runtime:
    """The sampler and the container cache of one worker process."""

    sampler: Sampler
    containers: ContainerCache
    started: bool = field(default=False)

    def start(self) -> None:
        """Start both background threads once."""
        if self.started:
            return
        self.started = True
        self.sampler.start()
        self.containers.start()

    def stop(self) -> None:
        """Stop both background threads."""
        if not self.started:
            return
        self.sampler.stop()
        self.containers.stop()
        self.started = False


def build_runtime(settings: Settings) -> Runtime:
    """Build the sampler and the container cache from the settings, without starting them."""
    sampler = Sampler(source_chain(settings), extras=lambda: host_extras(psutil))
    reader = DockerReader(base_url=settings.docker_host, project=settings.compose_project)
    return Runtime(sampler=sampler, containers=ContainerCache(reader))


def issue_setup_token_if_needed(store: Store, url: str) -> None:
    """Log a one-time setup token when no user exists, so the first admin can be created."""
    if store.count_users() > 0:
        return
    token = new_token()
    store.replace_setup_token(hash_token(token), time.time() + SETUP_TOKEN_TTL_S)
    # The token is printed on purpose: it is the only way in before the first
    # user exists, it works once and it expires within minutes.
    logger.warning(
        "No user exists yet. Open %s/setup within %d minutes and enter the setup token %s "
        "to create the first admin, or run: webadmin user add NAME --role admin",
        url,
        SETUP_TOKEN_TTL_S // 60,
        token,
    )
