"""The words used when the Docker engine cannot be reached, without an engine."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import requests

from webadmin.sources.docker import describe_failure

URL = "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (FileNotFoundError(errno.ENOENT, "No such file"), "the socket does not exist"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection refused"),
        (requests.Timeout("read timed out"), "did not answer within 5 s"),
    ],
)
def test_reason_in_plain_words(error: Exception, reason: str) -> None:
    wrapped = requests.ConnectionError(("Connection aborted.", error))

    message = describe_failure(URL, wrapped)

    assert message.startswith(f"Docker is not reachable at {URL}: ")
    assert reason in message


def test_path_that_is_not_socket(tmp_path: Path) -> None:
    file = tmp_path / "docker.sock"
    file.write_text("")

    message = describe_failure(f"unix://{file}", ConnectionRefusedError())

    assert message == f"Docker is not reachable at unix://{file}: {file} is not a socket"


def test_unknown_error_keeps_its_text() -> None:
    message = describe_failure(URL, ValueError("odd answer"))

    assert message == f"Docker is not reachable at {URL}: ValueError: odd answer"
