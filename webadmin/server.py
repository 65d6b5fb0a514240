"""Runs webadmin under gunicorn: one gthread worker, so one sampler serves every request."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Settings

logger = logging.getLogger(__name__)

WORKER_THREADS = 8
WORKER_TIMEOUT_S = 30
# Shorter than compose's default stop_grace_period of 10 s, so a stop is clean.
GRACEFUL_TIMEOUT_S = 8


def _post_worker_init(worker: Any) -> None:
    # Threads do not survive a fork, so the sampler starts in the worker.
    from .runtime import issue_setup_token_if_needed

    app = worker.wsgi
    state = app.extensions["webadmin"]
    state["runtime"].start()
    issue_setup_token_if_needed(state["store"], f"http://{state['settings'].bind}")


def _worker_exit(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["webadmin"]["runtime"].stop()


class WebadminServer(BaseApplication):
    """A gunicorn application configured in code instead of a config file."""

    def __init__(self, settings: Settings, options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.options = {
            "bind": settings.bind,
            "workers": 1,
            "worker_class": "gthread",
            "threads": WORKER_THREADS,
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "webadmin",
            # gunicorn 24+ opens a control socket in the home directory; webadmin needs none.
            "control_socket_disable": True,
            **(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        """Copy the options into gunicorn's config."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the Flask app inside the worker."""
        from . import create_app

        return create_app(self.settings)
