"""The dashboard page and its tiles, as a full page and as htmx fragments."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import FakeDockerReader, StaticSource, add_user, make_container, make_runtime, sign_in
from flask import Flask
from flask.testing import FlaskClient

from webadmin.dashboard import TILES
from webadmin.telemetry import CoreReading, CpuReading, MemoryReading, Reading


def signed_in(app: Flask) -> FlaskClient:
    add_user(app.extensions["webadmin"]["store"])
    client = app.test_client()
    sign_in(client)
    return client


def test_page_has_every_tile(admin_client: FlaskClient) -> None:
    html = admin_client.get("/").get_data(as_text=True)

    for tile in TILES:
        assert f'id="tile-{tile}"' in html, tile
        assert f'hx-get="/tiles/{tile}"' in html, tile


def test_page_loads_vendored_htmx(admin_client: FlaskClient) -> None:
    html = admin_client.get("/").get_data(as_text=True)

    script = admin_client.get("/static/htmx-2.0.11.min.js")
    script.close()

    assert "/static/htmx-2.0.11.min.js" in html
    assert script.status_code == 200


@pytest.mark.parametrize("tile", TILES)
def test_tile_fragment(htmx_client: FlaskClient, tile: str) -> None:
    response = htmx_client.get(f"/tiles/{tile}")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert html.startswith(f'<section class="tile tile-{tile}')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_unknown_tile_404(htmx_client: FlaskClient) -> None:
    assert htmx_client.get("/tiles/nope").status_code == 404


def test_polling_every_two_seconds(htmx_client: FlaskClient) -> None:
    html = htmx_client.get("/tiles/cpu").get_data(as_text=True)

    assert 'hx-trigger="every 2s, refresh"' in html


def test_tiles_show_values(htmx_client: FlaskClient) -> None:
    cpu = htmx_client.get("/tiles/cpu").get_data(as_text=True)
    power = htmx_client.get("/tiles/power").get_data(as_text=True)
    board = htmx_client.get("/tiles/board").get_data(as_text=True)

    assert "21 %" in cpu
    assert "@ 1190 MHz" in cpu
    assert "off" in cpu
    assert "4.07 W" in power
    assert "VDD_SOC" in power
    assert "tegrastats" in board


def test_missing_data_said_not_zero(make_app: Callable[..., Flask]) -> None:
    bare = Reading(cpu=CpuReading((CoreReading(0, True, 5.0, None),)), memory=MemoryReading(100, 1000))
    client = signed_in(make_app(runtime=make_runtime(StaticSource("host", [bare]))))

    gpu = client.get("/tiles/gpu").get_data(as_text=True)
    power = client.get("/tiles/power").get_data(as_text=True)
    swap = client.get("/tiles/memory").get_data(as_text=True)

    assert "No GPU reported by host on this machine." in gpu
    assert "No power rails reported by host on this machine." in power
    assert "No swap reported by host on this machine." in swap
    assert "0 W" not in power


def test_stale_badge_after_bad_reading(make_app: Callable[..., Flask]) -> None:
    runtime = make_runtime()
    runtime.sampler._publish_degraded("tegrastats", "tegrastats printed a line that could not be read: x")
    client = signed_in(make_app(runtime=runtime))

    html = client.get("/tiles/cpu").get_data(as_text=True)

    assert "is-stale" in html
    assert ">stale</span>" in html


def test_engine_error_shown(make_app: Callable[..., Flask]) -> None:
    message = "Docker is not reachable at unix:///var/run/docker.sock: permission denied"
    client = signed_in(make_app(runtime=make_runtime(reader=FakeDockerReader(error=message))))

    html = client.get("/tiles/containers").get_data(as_text=True)

    assert message in html


MARKUP = '<img src=x onerror=alert(1)><button hx-post="/logout" hx-trigger="load">x</button>'


def test_docker_markup_is_inert(make_app: Callable[..., Flask]) -> None:
    container = make_container(name="evil", service=MARKUP, image=MARKUP)
    client = signed_in(make_app(runtime=make_runtime(reader=FakeDockerReader([container]))))

    html = client.get("/tiles/containers").get_data(as_text=True)

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert 'hx-post="/logout"' not in html
    assert "hx-disable" in html


def test_fragment_cached_per_snapshot(make_app: Callable[..., Flask]) -> None:
    runtime = make_runtime()
    client = signed_in(make_app(runtime=runtime))
    client.environ_base["HTTP_HX_REQUEST"] = "true"

    first = client.get("/tiles/board").get_data(as_text=True)
    again = client.get("/tiles/board").get_data(as_text=True)
    runtime.sampler.tick()
    newer = client.get("/tiles/board").get_data(as_text=True)

    assert first == again
    assert newer != first


def test_notice_of_failed_source_shown(make_app: Callable[..., Flask]) -> None:
    runtime = make_runtime()
    runtime.sampler._notices["jtop"] = "jtop: The jtop.service is not active. Please run: sudo jtop --install-service"
    runtime.sampler.tick()
    client = signed_in(make_app(runtime=runtime))

    html = client.get("/tiles/board").get_data(as_text=True)

    assert "The jtop.service is not active" in html


def test_memory_pair_same_unit(make_app: Callable[..., Flask]) -> None:
    reading = Reading(memory=MemoryReading(4321, 62801))
    client = signed_in(make_app(runtime=make_runtime(StaticSource("tegrastats", [reading]))))

    html = client.get("/tiles/memory").get_data(as_text=True)

    assert "4.2 GB of 61.3 GB" in html


def test_trend_caption_is_newest_value() -> None:
    from webadmin.charts import build_trends
    from webadmin.sampler import Sampler

    readings = [Reading(cpu=CpuReading((CoreReading(0, True, float(i % 100)),))) for i in range(599)]
    source = StaticSource("host", readings)
    sampler = Sampler([("host", lambda: source)])
    for _ in readings:
        sampler.tick()

    cpu = build_trends(sampler.history())[0]

    assert cpu.latest == 98.0
