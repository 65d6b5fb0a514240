"""The webadmin command: users, tokens, replay and the start-up checks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from webadmin.cli import main
from webadmin.security import hash_token, verify_password
from webadmin.store import Store

PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def runner(data_dir: Path) -> CliRunner:
    return CliRunner(env={"WEBADMIN_DATA_DIR": str(data_dir)})


def test_user_add_from_stdin(runner: CliRunner, data_dir: Path) -> None:
    result = runner.invoke(main, ["user", "add", "owner", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    user = Store(data_dir).get_user("owner")

    assert result.exit_code == 0, result.output
    assert user is not None
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)


def test_user_add_from_prompt(runner: CliRunner, data_dir: Path) -> None:
    result = runner.invoke(main, ["user", "add", "viewer1", "--role", "viewer"], input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert Store(data_dir).get_user("viewer1") is not None


def test_user_add_short_password(runner: CliRunner) -> None:
    result = runner.invoke(main, ["user", "add", "owner", "--role", "admin", "--password-stdin"], input="short\n")

    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_user_add_duplicate(runner: CliRunner) -> None:
    args = ["user", "add", "owner", "--role", "admin", "--password-stdin"]
    runner.invoke(main, args, input=PASSWORD + "\n")

    result = runner.invoke(main, args, input=PASSWORD + "\n")

    assert result.exit_code == 1
    assert "user 'owner' already exists" in result.output


def test_user_role_required(runner: CliRunner) -> None:
    result = runner.invoke(main, ["user", "add", "owner", "--password-stdin"], input=PASSWORD + "\n")

    assert result.exit_code == 2
    assert "--role" in result.output


def test_user_list_passwd_remove(runner: CliRunner, data_dir: Path) -> None:
    runner.invoke(main, ["user", "add", "owner", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    new_password = "another long password"

    listed = runner.invoke(main, ["user", "list"])
    changed = runner.invoke(main, ["user", "passwd", "owner", "--password-stdin"], input=new_password + "\n")
    user = Store(data_dir).get_user("owner")
    removed = runner.invoke(main, ["user", "remove", "owner"])
    missing = runner.invoke(main, ["user", "remove", "owner"])

    assert "owner\tadmin" in listed.output
    assert changed.exit_code == 0
    assert user is not None
    assert verify_password(user.password_hash, new_password)
    assert removed.exit_code == 0
    assert Store(data_dir).get_user("owner") is None
    assert missing.exit_code == 1
    assert "not found" in missing.output


def test_token_create_prints_once(data_dir: Path) -> None:
    runner = CliRunner(env={"WEBADMIN_DATA_DIR": str(data_dir)})

    result = runner.invoke(main, ["token", "create", "homepage"])
    token = result.stdout.strip()
    found = Store(data_dir).find_token(hash_token(token))
    listed = runner.invoke(main, ["token", "list"])

    assert result.exit_code == 0
    assert token.startswith("wa_")
    assert found is not None
    assert found.role == "viewer"
    assert "homepage\tviewer" in listed.output
    assert token not in listed.output


def test_token_revoke(runner: CliRunner, data_dir: Path) -> None:
    runner.invoke(main, ["token", "create", "homepage", "--role", "admin"])

    result = runner.invoke(main, ["token", "revoke", "homepage"])

    assert result.exit_code == 0
    assert Store(data_dir).list_tokens() == []


def test_bad_setting_names_itself(runner: CliRunner) -> None:
    result = runner.invoke(main, ["user", "list"], env={"WEBADMIN_DATA_DIR": "relative"})

    assert result.exit_code == 1
    assert "WEBADMIN_DATA_DIR='relative' is invalid: expected an absolute path" in result.output


def test_replay_prints_lines(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("RAM 1/2MB\n\nRAM 3/4MB\n")

    result = runner.invoke(main, ["replay-tegrastats", "--once", "--interval-ms", "10", str(log)])

    assert result.exit_code == 0
    assert result.output == "RAM 1/2MB\nRAM 3/4MB\n"


def test_cli_never_logs_password(runner: CliRunner, data_dir: Path) -> None:
    result = runner.invoke(main, ["user", "add", "owner", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    entries = Store(data_dir).audit_entries()

    assert PASSWORD not in result.output
    assert PASSWORD not in repr(entries)
    assert entries[0].action == "user add"


def test_serve_port_in_use(runner: CliRunner) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = runner.invoke(main, ["serve"], env={"WEBADMIN_BIND": f"127.0.0.1:{port}"})

    assert result.exit_code == 1
    assert f"WEBADMIN_BIND=127.0.0.1:{port} cannot be used: Address already in use" in result.output


def test_passwd_unknown_user_before_prompt(runner: CliRunner) -> None:
    result = runner.invoke(main, ["user", "passwd", "nobody"])

    assert result.exit_code == 1
    assert "user 'nobody' not found" in result.output
    assert "Password" not in result.output
