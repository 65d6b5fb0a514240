"""The JSON API: telemetry and containers, for a session or a bearer token."""

from __future__ import annotations

from collections.abc import Callable

from conftest import FakeDockerReader, StaticSource, make_runtime
from flask import Flask
from flask.testing import FlaskClient

from webadmin.security import hash_token
from webadmin.store import Store


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_healthz_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_api_needs_auth(client: FlaskClient) -> None:
    for path in ("/api/v1/telemetry", "/api/v1/containers"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_api_rejects_unknown_token(client: FlaskClient) -> None:
    assert client.get("/api/v1/telemetry", headers=bearer("wa_nope")).status_code == 401


def test_api_accepts_token(client: FlaskClient, store: Store) -> None:
    store.add_token("homepage", hash_token("wa_secret"), "viewer")

    response = client.get("/api/v1/telemetry", headers=bearer("wa_secret"))

    assert response.status_code == 200
    assert store.list_tokens()[0].last_used_at is not None


def test_revoked_token_rejected(client: FlaskClient, store: Store) -> None:
    store.add_token("homepage", hash_token("wa_secret"), "viewer")
    store.revoke_token("homepage")

    assert client.get("/api/v1/telemetry", headers=bearer("wa_secret")).status_code == 401


def test_telemetry_document(admin_client: FlaskClient) -> None:
    body = admin_client.get("/api/v1/telemetry").get_json()

    assert body["source"] == "tegrastats"
    assert body["sampled_at"].endswith("Z")
    assert body["stale"] is False
    assert body["cpu"]["percent"] == 21.0
    assert body["cpu"]["cores"][2] == {"index": 2, "online": False, "percent": None, "freq_mhz": None}
    assert body["memory"] == {"used_mb": 1733.0, "total_mb": 15827.0}
    assert body["swap"] is None
    assert body["gpu"] == {"percent": 4.0, "freq_mhz": 318}
    assert body["emc"] == {"percent": 1.0, "freq_mhz": 665}
    assert body["temperatures_c"] == {"cpu": 41.5, "gpu": 40.0}
    assert body["power_mw"]["VDD_IN"] == {"current": 4067, "average": 4001}
    assert body["power_total_mw"] == {"current": 4067, "average": 4001}


def test_telemetry_before_first_sample(make_app: Callable[..., Flask]) -> None:
    app = make_app(runtime=make_runtime(StaticSource(), ticks=0))
    app.extensions["webadmin"]["store"].add_token("t", hash_token("wa_t"), "viewer")

    response = app.test_client().get("/api/v1/telemetry", headers=bearer("wa_t"))

    assert response.status_code == 503
    assert response.get_json()["error"] == "No telemetry sample yet."


def test_containers_document(admin_client: FlaskClient) -> None:
    body = admin_client.get("/api/v1/containers").get_json()
    container = body["containers"][0]

    assert body["error"] is None
    assert container["name"] == "ollama"
    assert container["service"] == "ollama"
    assert container["state"] == "running"
    assert container["health"] == "healthy"
    assert container["restart_count"] == 0
    assert container["image"] == "ollama/ollama:latest"
    assert container["started_at"] == "2026-01-01T00:00:00Z"
    assert container["ports"] == ["127.0.0.1:11434->11434/tcp"]


def test_containers_when_engine_down(make_app: Callable[..., Flask]) -> None:
    message = "Docker is not reachable at unix:///var/run/docker.sock: permission denied"
    app = make_app(runtime=make_runtime(reader=FakeDockerReader(error=message)))
    app.extensions["webadmin"]["store"].add_token("t", hash_token("wa_t"), "viewer")

    response = app.test_client().get("/api/v1/containers", headers=bearer("wa_t"))

    assert response.status_code == 503
    assert response.get_json()["error"] == message
    assert response.get_json()["containers"] == []


def test_wrong_token_message(client: FlaskClient) -> None:
    missing = client.get("/api/v1/telemetry").get_json()
    wrong = client.get("/api/v1/telemetry", headers=bearer("wa_nope")).get_json()

    assert missing["error"] == "Sign in or send an Authorization: Bearer token."
    assert wrong["error"] == "The bearer token is invalid or revoked."


def test_api_errors_are_json(admin_client: FlaskClient) -> None:
    not_found = admin_client.get("/api/v1/nothing")
    wrong_method = admin_client.delete("/api/v1/telemetry")

    assert not_found.status_code == 404
    assert "error" in not_found.get_json()
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.get_json()
