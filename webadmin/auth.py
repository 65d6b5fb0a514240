"""Sign-in, sign-out and first-admin setup, with server-side sessions."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, abort, redirect, render_template, request, session, url_for
from flask_htmx import make_response as htmx_response
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.wrappers import Response as WerkzeugResponse

from .extensions import get_store
from .security import (
    SETUP_TOKEN_TTL_S,
    LoginLimits,
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    hash_token,
    new_token,
    safe_next_path,
    verify_login,
)
from .store import SessionRecord, StoreError

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

SESSION_ABSOLUTE_S = 12 * 60 * 60
SESSION_IDLE_S = 30 * 60
REMEMBER_ABSOLUTE_S = 30 * 24 * 60 * 60
TOUCH_EVERY_S = 60
ATTEMPTS_KEPT_S = 24 * 60 * 60
MAX_USERNAME_LENGTH = 64
WRONG_CREDENTIALS = "Wrong user name or password."
TOO_MANY_ATTEMPTS = "Too many sign-in attempts. Wait a few minutes and try again."


@dataclass
class SessionUser(UserMixin):
    """The signed-in person for Flask-Login, whose id is the raw session id."""

    session_id: str
    record: SessionRecord

    def get_id(self) -> str:
        """Return the session id that Flask-Login keeps in the signed cookie."""
        return self.session_id

    @property
    def username(self) -> str:
        """Return the user's name."""
        return self.record.user.username

    @property
    def is_admin(self) -> bool:
        """Tell whether the user may change things."""
        return self.record.user.is_admin


def init_login(app: Flask) -> None:
    """Set up Flask-Login with sessions looked up in the store."""
    manager = LoginManager(app)
    # Sessions live on the server and get a new id at every sign-in, so
    # Flask-Login's per-request hash of the address and user agent adds nothing.
    manager.session_protection = None
    manager.user_loader(load_session_user)
    manager.unauthorized_handler(unauthorized)


def load_session_user(session_id: str) -> SessionUser | None:
    """Return the user of a live session, ending it when it has expired."""
    store = get_store()
    id_hash = hash_token(session_id)
    record = store.get_session(id_hash)
    if record is None:
        return None
    now = time.time()
    if _expired(record, now):
        store.delete_session(id_hash)
        logger.info("Session of %s expired", record.user.username)
        return None
    if now - record.last_seen_at > TOUCH_EVERY_S:
        store.touch_session(id_hash, now)
    return SessionUser(session_id, record)


def _expired(record: SessionRecord, now: float) -> bool:
    if record.remember:
        return now - record.created_at > REMEMBER_ABSOLUTE_S
    too_old = now - record.created_at > SESSION_ABSOLUTE_S
    return too_old or now - record.last_seen_at > SESSION_IDLE_S


def unauthorized() -> Any:
    """Send a request without a session to the login page, in the way its client understands."""
    login_url = url_for("auth.login", next=_current_path())
    if request.headers.get("HX-Request") == "true":
        # htmx would swap a redirect's login page into a tile; HX-Redirect moves the whole page.
        return htmx_response("", 401, redirect=login_url)
    if request.path.startswith("/api/"):
        return {"error": "Sign in or send an Authorization: Bearer token."}, 401
    return redirect(login_url)


def _current_path() -> str:
    if request.headers.get("HX-Request") == "true":
        return "/"
    return request.full_path.rstrip("?")


@bp.get("/login")
def login() -> Any:
    """Show the sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return render_template(
        "auth/login.html", next=request.args.get("next", ""), needs_setup=get_store().count_users() == 0
    )


@bp.post("/login")
def login_post() -> Any:
    """Check the credentials, then start a new session."""
    username = request.form.get("username", "").strip()[:MAX_USERNAME_LENGTH]
    password = request.form.get("password", "")
    next_path = request.form.get("next", "")
    address = request.remote_addr or "unknown"
    store = get_store()
    if not LoginLimits(store).allows(username, address):
        store.record_login_attempt(username, address, succeeded=False)
        store.audit("login", "throttled", username, address)
        logger.warning("Rejected a sign-in for %r from %s: too many attempts", username, address)
        return _login_failed(TOO_MANY_ATTEMPTS, 429, username, next_path)
    user = store.get_user(username)
    if not verify_login(user, password) or user is None:
        store.record_login_attempt(username, address, succeeded=False)
        store.audit("login", "failed", username, address)
        logger.info("Failed sign-in for %r from %s", username, address)
        return _login_failed(WRONG_CREDENTIALS, 401, username, next_path)
    store.record_login_attempt(username, address, succeeded=True)
    _forget_old_records()
    _start_session(user.username, remember=request.form.get("remember") == "on", address=address)
    store.audit("login", "succeeded", username, address)
    logger.info("%s signed in from %s", username, address)
    return redirect(safe_next_path(next_path) or url_for("dashboard.index"))


def _forget_old_records() -> None:
    # Sign-ins are rare, so this is a cheap moment to drop expired rows.
    now = time.time()
    store = get_store()
    store.delete_sessions_before(created_before=now - REMEMBER_ABSOLUTE_S, seen_before=now - SESSION_IDLE_S)
    store.delete_login_attempts_before(now - ATTEMPTS_KEPT_S)


def _login_failed(message: str, status: int, username: str, next_path: str) -> tuple[str, int]:
    page = render_template("auth/login.html", error=message, username=username, next=next_path, needs_setup=False)
    return page, status


def _start_session(username: str, remember: bool, address: str) -> None:
    store = get_store()
    user = store.get_user(username)
    assert user is not None
    # A new session id and a cleared cookie at every login, so a session
    # fixed before login is worth nothing after it.
    session.clear()
    session_id = new_token()
    store.add_session(hash_token(session_id), user, remember, address)
    record = store.get_session(hash_token(session_id))
    assert record is not None
    login_user(SessionUser(session_id, record))
    session.permanent = remember


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    """End the session on the server and in the browser."""
    if current_user.is_authenticated:
        get_store().delete_session(hash_token(current_user.session_id))
        get_store().audit("logout", "succeeded", current_user.username, request.remote_addr)
        logger.info("%s signed out", current_user.username)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/setup")
def setup() -> Any:
    """Show the form that creates the first admin with the setup token from the log."""
    if get_store().count_users() > 0:
        abort(404)
    return _setup_page()


@bp.post("/setup")
def setup_post() -> Any:
    """Create the first admin when the setup token is valid."""
    store = get_store()
    address = request.remote_addr or "unknown"
    if store.count_users() > 0:
        abort(404)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    error = _setup_error(username, password, request.form.get("password_confirm", ""))
    if error:
        return _setup_page(error, username, 400)
    if not LoginLimits(store).allows("(setup)", address) or not store.consume_setup_token(
        hash_token(request.form.get("token", "").strip()), time.time()
    ):
        store.record_login_attempt("(setup)", address, succeeded=False)
        store.audit("setup", "failed", username, address)
        message = "The setup token is wrong or has expired. Restart webadmin for a new one, or use: webadmin user add."
        return _setup_page(message, username, 401)
    return _create_first_admin(username, password, address)


def _setup_page(error: str | None = None, username: str = "", status: int = 200) -> tuple[str, int]:
    page = render_template("auth/setup.html", ttl_minutes=SETUP_TOKEN_TTL_S // 60, error=error, username=username)
    return page, status


def _setup_error(username: str, password: str, confirm: str) -> str | None:
    if not username or len(username) > MAX_USERNAME_LENGTH:
        return f"Enter a user name of 1 to {MAX_USERNAME_LENGTH} characters."
    if password != confirm:
        return "The two passwords differ."
    try:
        check_password_policy(password)
    except PasswordPolicyError as error:
        return str(error)
    return None


def _create_first_admin(username: str, password: str, address: str) -> Any:
    store = get_store()
    try:
        store.add_user(username, hash_password(password), "admin")
    except StoreError as error:
        return _setup_page(str(error), username, 400)
    store.audit("setup", "succeeded", username, address, "first admin created")
    logger.info("First admin %s created through the setup page from %s", username, address)
    _start_session(username, remember=False, address=address)
    return redirect(url_for("dashboard.index"))
