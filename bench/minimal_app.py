"""The baseline of the polling benchmark: one Flask route that returns a fixed HTML fragment.

It runs under the same gunicorn options as ``webadmin serve`` (one gthread
worker with webadmin's thread count, timeouts and logging), so the difference
the benchmark measures is webadmin's request path and not the server setup.

Run it alone with ``python bench/minimal_app.py --bind 127.0.0.1:8081``.
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response

from webadmin.config import load_settings
from webadmin.server import WebadminServer

FRAGMENT_PATH = "/fragment"
CORE_COUNT = 12


def build_fragment() -> str:
    """Build a tile-like htmx fragment of about 1.8 KB that never changes."""
    cores = "\n".join(
        f'  <li><span class="label">{index}</span><meter min="0" max="100" value="{index * 7}">{index * 7} %</meter>'
        f'<span class="value">{index * 7} % @ 1190 MHz</span></li>'
        for index in range(CORE_COUNT)
    )
    return (
        '<section class="tile tile-cpu" id="tile-cpu" data-poll hx-get="/fragment" '
        'hx-trigger="every 2s, refresh" hx-swap="outerHTML">\n'
        "  <h2>CPU</h2>\n"
        '<p class="big">42 % <small>mean of online cores</small></p>\n'
        f'<ol class="cores">\n{cores}\n</ol>\n'
        "</section>\n"
    )


def create_app() -> Flask:
    """Build the baseline app: the fragment route and nothing else."""
    app = Flask(__name__)
    fragment = build_fragment()

    @app.get(FRAGMENT_PATH)
    def fragment_view() -> Response:
        return Response(fragment, mimetype="text/html")

    return app


# gunicorn checks each hook's argument count, so each replacement matches its hook.
def _skip_post_worker_init(worker: Any) -> None:
    """Replace webadmin's hook, which starts webadmin's sampler."""


def _skip_worker_exit(server: Any, worker: Any) -> None:
    """Replace webadmin's hook, which stops webadmin's sampler."""


class MinimalServer(WebadminServer):
    """``WebadminServer`` with every gunicorn option kept and only the app replaced."""

    def load(self) -> Any:
        """Build the baseline app inside the worker."""
        return create_app()


def serve(bind: str) -> None:
    """Serve the baseline app on ``bind`` (HOST:PORT) until gunicorn is stopped."""
    settings = load_settings({"WEBADMIN_BIND": bind})
    options = {
        "post_worker_init": _skip_post_worker_init,
        "worker_exit": _skip_worker_exit,
        "proc_name": "webadmin-bench-minimal",
    }
    MinimalServer(settings, options).run()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True, help="Address to listen on, as HOST:PORT, such as 127.0.0.1:8081.")
    serve(parser.parse_args().bind)


if __name__ == "__main__":
    main()
