"""webadmin: a small web admin for an NVIDIA Jetson home lab."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template, request
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from .config import Settings, load_settings
from .runtime import Runtime, build_runtime
from .security import security_headers
from .store import Store

__version__ = "0.1.0"

logger = logging.getLogger(__name__)

SESSION_COOKIE_NAME = "webadmin_session"
REMEMBER_DAYS = 30


def asset_dir(name: str) -> Path:
    """Find ``templates`` or ``static``: inside the installed package, or beside it in a checkout."""
    packaged = Path(__file__).parent / name
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / name


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    store: Store | None = None,
) -> Flask:
    """Build the Flask app; the server starts its background threads after forking the worker."""
    settings = settings or load_settings()
    store = store or Store(settings.data_dir)
    store.initialize()
    app = Flask(__name__, template_folder=str(asset_dir("templates")), static_folder=str(asset_dir("static")))
    _configure(app, store)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.extensions["webadmin"] = {
        "settings": settings,
        "store": store,
        "runtime": runtime or build_runtime(settings),
    }
    HTMX(app)
    CSRFProtect(app)
    _register_blueprints(app)
    _register_handlers(app, settings)
    return app


def _configure(app: Flask, store: Store) -> None:
    # The key lives in the store so sessions survive restarts, and is never in the source.
    app.secret_key = store.get_or_create_setting("secret_key", secrets.token_hex(32))
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=REMEMBER_DAYS),
        # Re-signing the cookie on every poll costs more than the rest of a tile.
        # So a remembered browser stays signed in 30 days from its sign-in, not its last poll.
        SESSION_REFRESH_EACH_REQUEST=False,
        # The CSRF token lives as long as the session, so a tab left open keeps working.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        MAX_CONTENT_LENGTH=64 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )


def _register_blueprints(app: Flask) -> None:
    from . import api, auth, dashboard

    auth.init_login(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(api.bp)


def _register_handlers(app: Flask, settings: Settings) -> None:
    headers = security_headers(settings.frame_ancestors)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(headers)
        response.headers.pop("X-Frame-Options", None)
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> tuple[str, int]:
        logger.warning(
            "Rejected a %s to %s from %s: %s", request.method, request.path, request.remote_addr, error.description
        )
        message = "The form was not sent from this site or has expired. Reload the page and try again."
        return render_template("error.html", title="Request rejected", message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int]:
        if request.path.startswith("/api/"):
            return {"error": error.description}, error.code or 500
        return render_template("error.html", title=error.name, message=error.description), error.code or 500

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[str, int]:
        reference = uuid.uuid4().hex[:8]
        logger.exception("Unexpected error on %s %s (reference %s)", request.method, request.path, reference)
        message = f"Something went wrong on the server. Search the log for reference {reference}."
        return render_template("error.html", title="Server error", message=message), 500
