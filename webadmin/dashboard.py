"""The dashboard page and its tiles, each an htmx fragment that reads the newest snapshot."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, current_app, make_response, render_template
from flask_login import current_user, login_required

from .charts import build_trends
from .extensions import get_runtime, get_settings

bp = Blueprint("dashboard", __name__)

TILES = ("board", "cpu", "gpu", "memory", "temperatures", "power", "disk", "trends", "containers")
POLL_INTERVAL_S = 2


@bp.app_template_filter("duration")
def format_duration(seconds: float) -> str:
    """Format seconds as the two largest units, such as '3 d 4 h' or '5 min 2 s'."""
    total = max(int(seconds), 0)
    parts = [(total // 86400, "d"), (total % 86400 // 3600, "h"), (total % 3600 // 60, "min"), (total % 60, "s")]
    while len(parts) > 2 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2])


@bp.app_template_filter("mb")
def format_mb(value_mb: float, scale_mb: float | None = None) -> str:
    """Format megabytes as MB below 10 GB and as GB above; ``scale_mb`` picks the unit for a pair."""
    if (scale_mb if scale_mb is not None else value_mb) >= 10 * 1024:
        return f"{value_mb / 1024:.1f} GB"
    return f"{value_mb:.0f} MB"


@bp.record_once
def _register_globals(state: Any) -> None:
    # Globals reach imported macros, which do not see the template's context.
    state.app.jinja_env.globals["poll_interval_s"] = POLL_INTERVAL_S


class FragmentCache:
    """The last HTML rendered for each tile, reused until a newer snapshot arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[int, ...], str]] = {}

    def get(self, tile: str, key: tuple[int, ...]) -> str | None:
        """Return the cached HTML for this tile and key, or None."""
        entry = self._entries.get(tile)
        return entry[1] if entry and entry[0] == key else None

    def put(self, tile: str, key: tuple[int, ...], html: str) -> None:
        """Keep the HTML rendered for this tile and key."""
        with self._lock:
            self._entries[tile] = (key, html)


def _fragment_cache() -> FragmentCache:
    cache = current_app.extensions.setdefault("webadmin_fragments", FragmentCache())
    assert isinstance(cache, FragmentCache)
    return cache


def tile_context() -> dict[str, Any]:
    """Collect what every tile template reads."""
    runtime = get_runtime()
    snapshot = runtime.sampler.latest
    now = datetime.now(timezone.utc)
    return {
        "snapshot": snapshot,
        "reading": snapshot.reading if snapshot else None,
        "stale": snapshot.is_stale(now) if snapshot else True,
        "notices": snapshot.notices if snapshot else runtime.sampler.notices(),
        "containers": runtime.containers.state,
        "now": now,
        "compose_project": get_settings().compose_project,
    }


def _cache_key(context: dict[str, Any]) -> tuple[int, ...]:
    snapshot = context["snapshot"]
    return (snapshot.seq if snapshot else 0, int(context["stale"]), context["containers"].seq)


def render_tile(tile: str, context: dict[str, Any]) -> str:
    """Render one tile, reusing the HTML of the same snapshot when there is one."""
    cache = _fragment_cache()
    key = _cache_key(context)
    html = cache.get(tile, key)
    if html is None:
        extra = {"trends": build_trends(get_runtime().sampler.history())} if tile == "trends" else {}
        html = render_template(f"dashboard/tile_{tile}.html", **context, **extra)
        cache.put(tile, key, html)
    return html


@bp.get("/")
@login_required
def index() -> str:
    """Show every tile at once; each then refreshes itself."""
    context = tile_context()
    tiles = [render_tile(tile, context) for tile in TILES]
    return render_template("dashboard/index.html", tiles=tiles, user=current_user)


@bp.get("/tiles/<tile>")
@login_required
def tile(tile: str) -> Response:
    """Return one tile as an htmx fragment."""
    if tile not in TILES:
        abort(404)
    response = make_response(render_tile(tile, tile_context()))
    response.headers["Vary"] = "HX-Request, Cookie"
    return response
