"""Sign-in, sessions, setup token, CSRF and the security headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from unittest import mock

import pytest
from conftest import PASSWORD, add_user, csrf_token_from, sign_in
from flask import Flask
from flask.testing import FlaskClient

from webadmin import auth
from webadmin.security import ADDRESS_ATTEMPTS_PER_MINUTE, LOCKOUT_FAILURES, hash_token, safe_next_path
from webadmin.store import SESSION_CACHE_S, Store


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("webadmin_session")
    return cookie.value if cookie else None


def test_login_page_has_form_fields(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)

    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrf_token"' in html


def test_dashboard_redirects_to_login(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/"


def test_htmx_without_session_gets_401(client: FlaskClient) -> None:
    response = client.get("/tiles/cpu", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert response.get_data(as_text=True) == ""


def test_sign_in_and_out(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = sign_in(client)
    dashboard = client.get("/")
    token = csrf_token_from(dashboard.get_data(as_text=True))
    logout = client.post("/logout", data={"csrf_token": token})
    after = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert dashboard.status_code == 200
    assert logout.status_code == 302
    assert after.status_code == 302


def test_logout_ends_session_on_server(client: FlaskClient, store: Store, app: Flask) -> None:
    add_user(store)
    sign_in(client)
    stolen = session_cookie(client)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})

    replay = app.test_client()
    replay.set_cookie("webadmin_session", stolen or "")

    assert stolen
    assert replay.get("/").status_code == 302


def test_session_rotates_on_login(client: FlaskClient, store: Store) -> None:
    add_user(store)
    client.get("/login")
    before = session_cookie(client)

    sign_in(client)

    assert session_cookie(client) != before


def test_session_cookie_flags(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = sign_in(client)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("webadmin_session="))

    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Expires" not in header


def test_remember_me_sets_lasting_cookie(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = sign_in(client, remember="on")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("webadmin_session="))

    assert "Expires" in header


def test_same_message_for_wrong_user_and_password(client: FlaskClient, store: Store) -> None:
    add_user(store)

    wrong_password = sign_in(client, password="not the password at all")
    wrong_user = sign_in(client, username="nobody")

    assert wrong_password.status_code == 401
    assert wrong_user.status_code == 401
    assert auth.WRONG_CREDENTIALS in wrong_password.get_data(as_text=True)
    assert auth.WRONG_CREDENTIALS in wrong_user.get_data(as_text=True)


def test_lockout_after_failures(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    store: Store = app.extensions["webadmin"]["store"]
    add_user(store)
    clients = [app.test_client() for _ in range(LOCKOUT_FAILURES)]
    for index, client in enumerate(clients):
        client.environ_base["REMOTE_ADDR"] = f"127.0.0.{index + 2}"
        sign_in(client, password="wrong password here")

    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "127.0.0.99"
    locked = sign_in(fresh)

    assert locked.status_code == 429
    assert auth.TOO_MANY_ATTEMPTS in locked.get_data(as_text=True)
    assert fresh.get("/").status_code == 302


def test_lockout_ends_after_five_minutes(client: FlaskClient, store: Store) -> None:
    add_user(store)
    for _ in range(LOCKOUT_FAILURES):
        store.record_login_attempt("admin", "127.0.0.9", succeeded=False)

    later = time.time() + 5 * 60 + 1
    with (
        mock.patch("webadmin.security.time.time", return_value=later),
        mock.patch("webadmin.store.time.time", return_value=later),
    ):
        response = sign_in(client)

    assert response.status_code == 302


def test_address_rate_limit(client: FlaskClient, store: Store) -> None:
    add_user(store)
    for index in range(ADDRESS_ATTEMPTS_PER_MINUTE):
        sign_in(client, username=f"guess{index}", password="wrong password here")

    response = sign_in(client)

    assert response.status_code == 429


def test_login_results_audited(client: FlaskClient, store: Store) -> None:
    add_user(store)
    sign_in(client, password="wrong password here")
    sign_in(client)

    outcomes = [(e.action, e.outcome, e.username) for e in store.audit_entries()]

    assert ("login", "failed", "admin") in outcomes
    assert ("login", "succeeded", "admin") in outcomes


def test_password_never_in_audit(client: FlaskClient, store: Store) -> None:
    add_user(store)
    sign_in(client, password="secret typo password")

    text = repr(store.audit_entries())

    assert "secret typo password" not in text


def test_post_without_csrf_rejected(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = client.post("/login", data={"username": "admin", "password": PASSWORD})

    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_without_csrf_rejected(admin_client: FlaskClient) -> None:
    response = admin_client.post("/logout")

    assert response.status_code == 400
    assert admin_client.get("/").status_code == 200


def test_csrf_header_accepted(admin_client: FlaskClient) -> None:
    token = csrf_token_from(admin_client.get("/").get_data(as_text=True))

    response = admin_client.post("/logout", headers={"X-CSRFToken": token})

    assert response.status_code == 302
    assert admin_client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/tiles/cpu", "/tiles/cpu"),
        ("/?a=1", "/?a=1"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("", None),
        ("/\nLocation: x", None),
    ],
)
def test_safe_next_path(target: str, expected: str | None) -> None:
    assert safe_next_path(target) == expected


def test_next_to_other_host_ignored(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = sign_in(client, next="https://evil.example/")

    assert response.headers["Location"] == "/"


def test_next_to_local_path_followed(client: FlaskClient, store: Store) -> None:
    add_user(store)

    response = sign_in(client, next="/api/v1/telemetry")

    assert response.headers["Location"] == "/api/v1/telemetry"


def test_idle_session_expires(admin_client: FlaskClient) -> None:
    later = time.time() + auth.SESSION_IDLE_S + 5
    with mock.patch("webadmin.auth.time.time", return_value=later):
        response = admin_client.get("/")

    assert response.status_code == 302


def test_absolute_session_expiry(admin_client: FlaskClient, store: Store) -> None:
    start = time.time()
    # Keep the session busy so only the absolute limit applies.
    for hours in range(1, 13):
        with mock.patch("webadmin.auth.time.time", return_value=start + hours * 3600 - 60):
            store._connection().execute("UPDATE sessions SET last_seen_at = ?", (start + hours * 3600 - 120,))
            store.clear_session_cache()
            assert admin_client.get("/").status_code == 200

    with mock.patch("webadmin.auth.time.time", return_value=start + auth.SESSION_ABSOLUTE_S + 10):
        store._connection().execute("UPDATE sessions SET last_seen_at = ?", (start + auth.SESSION_ABSOLUTE_S,))
        store.clear_session_cache()
        response = admin_client.get("/")

    assert response.status_code == 302


def test_remembered_session_outlives_idle_limit(client: FlaskClient, store: Store) -> None:
    add_user(store)
    sign_in(client, remember="on")

    with mock.patch("webadmin.auth.time.time", return_value=time.time() + 3 * 24 * 3600):
        response = client.get("/")

    assert response.status_code == 200


def test_removed_user_signed_out(admin_client: FlaskClient, store: Store) -> None:
    store.remove_user("admin")

    assert admin_client.get("/").status_code == 302


def test_security_headers(make_app: Callable[..., Flask]) -> None:
    app = make_app(frame_ancestors=("http://homepage.lan:3000",))

    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]

    assert "frame-ancestors 'self' http://homepage.lan:3000" in csp
    assert "script-src 'self'" in csp
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_setup_page_hidden_once_users_exist(client: FlaskClient, store: Store) -> None:
    add_user(store)

    assert client.get("/setup").status_code == 404


def setup_form(client: FlaskClient, token: str, password: str = PASSWORD) -> dict[str, str]:
    csrf = csrf_token_from(client.get("/setup").get_data(as_text=True))
    return {"csrf_token": csrf, "token": token, "username": "owner", "password": password, "password_confirm": password}


def test_setup_token_creates_first_admin(client: FlaskClient, store: Store) -> None:
    store.replace_setup_token(hash_token("the-token"), time.time() + 600)

    response = client.post("/setup", data=setup_form(client, "the-token"))
    user = store.get_user("owner")

    assert response.status_code == 302
    assert user is not None
    assert user.role == "admin"
    assert client.get("/").status_code == 200


def test_setup_token_works_once(client: FlaskClient, store: Store, app: Flask) -> None:
    store.replace_setup_token(hash_token("the-token"), time.time() + 600)
    client.post("/setup", data=setup_form(client, "the-token"))
    store.remove_user("owner")

    other = app.test_client()
    response = other.post("/setup", data=setup_form(other, "the-token"))

    assert response.status_code == 401
    assert store.count_users() == 0


def test_expired_setup_token_rejected(client: FlaskClient, store: Store) -> None:
    store.replace_setup_token(hash_token("the-token"), time.time() - 1)

    response = client.post("/setup", data=setup_form(client, "the-token"))

    assert response.status_code == 401
    assert "expired" in response.get_data(as_text=True)
    assert store.count_users() == 0


def test_setup_rejects_short_password(client: FlaskClient, store: Store) -> None:
    store.replace_setup_token(hash_token("the-token"), time.time() + 600)

    response = client.post("/setup", data=setup_form(client, "the-token", password="short"))

    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert store.count_users() == 0


def test_setup_token_logged(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    from webadmin.runtime import issue_setup_token_if_needed

    with caplog.at_level("WARNING"):
        issue_setup_token_if_needed(store, "http://127.0.0.1:8080")

    assert "http://127.0.0.1:8080/setup" in caplog.text
    assert "webadmin user add" in caplog.text


def test_login_purges_expired_sessions(client: FlaskClient, store: Store) -> None:
    add_user(store)
    user = store.get_user("admin")
    assert user is not None
    store.add_session("old-session-hash", user, remember=False, address="127.0.0.1")
    store._connection().execute("UPDATE sessions SET last_seen_at = 0, created_at = 0")

    sign_in(client)

    assert store.get_session("old-session-hash") is None


def test_session_ended_elsewhere_stops_soon(admin_client: FlaskClient, store: Store) -> None:
    # Another process, such as `webadmin user remove`, has its own store and cache.
    Store(store.path.parent).remove_user("admin")
    later = time.monotonic() + SESSION_CACHE_S + 1

    with mock.patch("webadmin.store.time.monotonic", return_value=later):
        response = admin_client.get("/")

    assert response.status_code == 302
