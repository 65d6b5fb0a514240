"""The JSON API for Homepage widgets and scripts: a session or a bearer token."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g, jsonify, request
from flask_login import current_user

from .extensions import get_runtime, get_store
from .security import hash_token

bp = Blueprint("api", __name__)

TOKEN_TOUCH_EVERY_S = 60
MISSING_CREDENTIALS = "Sign in or send an Authorization: Bearer token."
F = TypeVar("F", bound=Callable[..., Any])


def _bearer_role() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    store = get_store()
    token_hash = hash_token(token.strip())
    found = store.find_token(token_hash)
    if found is None:
        return None
    now = time.time()
    if found.last_used_at is None or now - found.last_used_at > TOKEN_TOUCH_EVERY_S:
        store.touch_token(token_hash, now)
    return found.role


def api_auth_required(view: F) -> F:
    """Admit a signed-in session or a valid bearer token, and return 401 for anything else."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        role = current_user.record.user.role if current_user.is_authenticated else _bearer_role()
        if role is None:
            has_token = request.headers.get("Authorization", "").lower().startswith("bearer ")
            message = "The bearer token is invalid or revoked." if has_token else MISSING_CREDENTIALS
            response = jsonify(error=message)
            response.headers["WWW-Authenticate"] = 'Bearer realm="webadmin"'
            return response, 401
        g.api_role = role
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.get("/healthz")
def healthz() -> Any:
    """Report that the process serves requests, for Docker's healthcheck; it reveals nothing else."""
    return jsonify(status="ok")


@bp.get("/api/v1/telemetry")
@api_auth_required
def telemetry() -> Any:
    """Return the newest telemetry snapshot."""
    sampler = get_runtime().sampler
    snapshot = sampler.latest
    if snapshot is None:
        body = {"error": "No telemetry sample yet.", "notices": list(sampler.notices())}
        return jsonify(body), 503
    return jsonify(snapshot.to_dict())


@bp.get("/api/v1/containers")
@api_auth_required
def containers() -> Any:
    """Return the cached container list, or why the engine is unreachable."""
    state = get_runtime().containers.state
    refreshed = state.refreshed_at.isoformat().replace("+00:00", "Z") if state.refreshed_at else None
    body = {
        "refreshed_at": refreshed,
        "error": state.error,
        "containers": [c.to_dict() for c in state.containers],
    }
    return jsonify(body), 503 if state.error else 200
