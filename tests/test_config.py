"""Settings from the environment: defaults, validation and their documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from webadmin.config import SETTING_NAMES, ConfigError, load_settings

README = Path(__file__).parent.parent / "README.md"


def test_defaults_are_safe() -> None:
    settings = load_settings({})

    assert settings.bind == "127.0.0.1:8080"
    assert settings.telemetry == "auto"
    assert settings.tegrastats_cmd == ("tegrastats", "--interval", "1000")
    assert settings.compose_project == ""
    assert settings.frame_ancestors == ()
    assert settings.docker_host == "unix:///var/run/docker.sock"


def test_values_are_read() -> None:
    settings = load_settings(
        {
            "WEBADMIN_BIND": "0.0.0.0:9000",
            "WEBADMIN_DATA_DIR": "/srv/webadmin",
            "WEBADMIN_TELEMETRY": "Tegrastats",
            "WEBADMIN_TEGRASTATS_CMD": "cat '/tmp/my log.txt'",
            "WEBADMIN_COMPOSE_PROJECT": "homelab",
            "WEBADMIN_FRAME_ANCESTORS": "http://homepage.lan:3000, https://home.example",
            "DOCKER_HOST": "tcp://127.0.0.1:2375",
        }
    )

    assert settings.bind == "0.0.0.0:9000"
    assert settings.data_dir == Path("/srv/webadmin")
    assert settings.telemetry == "tegrastats"
    assert settings.tegrastats_cmd == ("cat", "/tmp/my log.txt")
    assert settings.compose_project == "homelab"
    assert settings.frame_ancestors == ("http://homepage.lan:3000", "https://home.example")
    assert settings.docker_host == "tcp://127.0.0.1:2375"


def test_ipv6_bind() -> None:
    assert load_settings({"WEBADMIN_BIND": "[::1]:8080"}).bind == "[::1]:8080"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WEBADMIN_BIND", "8080", "expected HOST:PORT"),
        ("WEBADMIN_BIND", "localhost:8080", "expected HOST:PORT"),
        ("WEBADMIN_BIND", "127.0.0.1:0", "port from 1 to 65535"),
        ("WEBADMIN_BIND", "127.0.0.1:70000", "port from 1 to 65535"),
        ("WEBADMIN_DATA_DIR", "relative/dir", "expected an absolute path"),
        ("WEBADMIN_TELEMETRY", "gpu", "expected one of auto, jtop, tegrastats, host"),
        ("WEBADMIN_TEGRASTATS_CMD", "tegrastats 'unclosed", "expected a command line"),
        ("WEBADMIN_COMPOSE_PROJECT", "Home Lab", "expected a compose project name"),
        ("WEBADMIN_FRAME_ANCESTORS", "homepage.lan:3000", "is not an origin"),
        ("WEBADMIN_FRAME_ANCESTORS", "http://a.lan:3000/path", "is not an origin"),
        ("WEBADMIN_FRAME_ANCESTORS", "http://a.lan; script-src *", "is not an origin"),
        ("DOCKER_HOST", "nonsense", "expected an engine URL"),
        ("DOCKER_HOST", "unix://", "expected an engine URL"),
    ],
)
def test_invalid_value_names_setting(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})

    message = str(caught.value)
    assert message.startswith(f"{name}={value!r} is invalid")
    assert expected in message


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")

    with pytest.raises(ConfigError, match="exists and is not a directory"):
        load_settings({"WEBADMIN_DATA_DIR": str(file)})


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_setting_documented_in_readme(name: str) -> None:
    assert f"`{name}`" in README.read_text()
