"""The real `webadmin serve` process: settings, gunicorn worker, sampler after the fork."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

from conftest import LiveServer


def fetch_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_serve_reads_replayed_tegrastats(
    live_server_factory: Callable[..., LiveServer], replay_env: dict[str, str]
) -> None:
    server = live_server_factory(replay_env)
    token = server.run_cli("token", "create", "homepage").stdout.strip()

    time.sleep(1.5)
    first = fetch_json(server.url + "/api/v1/telemetry", token)
    time.sleep(1.2)
    second = fetch_json(server.url + "/api/v1/telemetry", token)

    assert first["source"] == "tegrastats"
    assert first["stale"] is False
    assert len(first["cpu"]["cores"]) == 6
    assert first["power_mw"]["VDD_SOC"] == {"current": 2817, "average": 2817}
    assert first["sampled_at"] != second["sampled_at"]


def test_serve_rejects_invalid_setting(live_server_factory: Callable[..., LiveServer]) -> None:
    server = live_server_factory({"WEBADMIN_TELEMETRY": "gpu"}, admin=False, start=False)

    result = server.run_cli("serve")

    assert result.returncode != 0
    assert "WEBADMIN_TELEMETRY='gpu' is invalid: expected one of auto, jtop, tegrastats, host" in result.stderr
