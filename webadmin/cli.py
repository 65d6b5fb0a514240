"""The ``webadmin`` command: run the server and manage users and API tokens."""

from __future__ import annotations

import logging
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from .config import ConfigError, Settings, load_settings
from .security import (
    API_TOKEN_PREFIX,
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    hash_token,
    new_token,
)
from .store import ROLES, SESSION_CACHE_S, Store, StoreError

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _store() -> Store:
    store = Store(_settings().data_dir)
    store.initialize()
    return store


@contextmanager
def _store_errors() -> Iterator[None]:
    # A duplicate or missing name is the user's mistake: print it, not a traceback.
    try:
        yield
    except StoreError as error:
        raise click.ClickException(str(error)) from None


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(password)
    except PasswordPolicyError as error:
        raise click.ClickException(str(error)) from None
    return password


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _check_port_free(settings: Settings) -> None:
    # gunicorn retries a busy port for seconds and then names no setting.
    family = socket.AF_INET6 if ":" in settings.bind_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.bind_host, settings.bind_port))
        except OSError as error:
            reason = error.strerror or str(error)
            message = f"WEBADMIN_BIND={settings.bind} cannot be used: {reason}. Pick another address or port."
            raise click.ClickException(message) from None


@click.group()
@click.version_option(package_name="webadmin")
def main() -> None:
    """Run and manage webadmin, a web admin for a Jetson home lab."""


@main.command()
def serve() -> None:
    """Start the web server (gunicorn, one worker) on WEBADMIN_BIND."""
    settings = _settings()
    _check_port_free(settings)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    from .server import WebadminServer

    logger.info("Starting webadmin on http://%s with telemetry %s", settings.bind, settings.telemetry)
    WebadminServer(settings).run()


@main.command("replay-tegrastats")
@click.argument("log_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--interval-ms",
    default=1000,
    show_default=True,
    type=click.IntRange(10, 60_000),
    help="Pause between lines, in milliseconds.",
)
@click.option("--once", is_flag=True, help="Stop at the end of the file instead of starting over.")
def replay_tegrastats(log_file: Path, interval_ms: int, once: bool) -> None:
    """Print a recorded tegrastats log line by line, like tegrastats does."""
    lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    if not lines:
        raise click.ClickException(f"{log_file} has no lines")
    while True:
        for line in lines:
            click.echo(line)
            sys.stdout.flush()
            time.sleep(interval_ms / 1000)
        if once:
            return


@main.group()
def user() -> None:
    """Manage the people who can sign in."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer may look; admin may also change things.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Create a user."""
    store = _store()
    password = _read_password(password_stdin)
    with _store_errors():
        store.add_user(name, hash_password(password), role)
    store.audit("user add", "succeeded", None, "cli", f"{name} as {role}")
    click.echo(f"Created {role} {name}.")


@user.command("list")
def user_list() -> None:
    """List the users."""
    for found in _store().list_users():
        click.echo(f"{found.username}\t{found.role}\tcreated {_when(found.created_at)}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a user's password and sign that user out everywhere."""
    store = _store()
    if store.get_user(name) is None:
        raise click.ClickException(f"user {name!r} not found")
    password = _read_password(password_stdin)
    with _store_errors():
        store.set_password(name, hash_password(password))
    store.audit("user passwd", "succeeded", None, "cli", name)
    click.echo(f"Password of {name} changed; a running server ends the user's sessions within {SESSION_CACHE_S:g} s.")


@user.command("remove")
@click.argument("name")
def user_remove(name: str) -> None:
    """Delete a user and end the user's sessions."""
    store = _store()
    with _store_errors():
        store.remove_user(name)
    store.audit("user remove", "succeeded", None, "cli", name)
    click.echo(f"Removed {name}.")


@main.group()
def token() -> None:
    """Manage API tokens for Homepage widgets and scripts."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
def token_create(name: str, role: str) -> None:
    """Create an API token and print it once; only its hash is stored."""
    store = _store()
    value = new_token(API_TOKEN_PREFIX)
    with _store_errors():
        store.add_token(name, hash_token(value), role)
    store.audit("token create", "succeeded", None, "cli", f"{name} as {role}")
    click.echo(value)
    click.echo(f"This is the only time the token {name} is shown. Send it as: Authorization: Bearer <token>", err=True)


@token.command("list")
def token_list() -> None:
    """List the API tokens (names only)."""
    for found in _store().list_tokens():
        click.echo(
            f"{found.name}\t{found.role}\tcreated {_when(found.created_at)}\tlast used {_when(found.last_used_at)}"
        )


@token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Delete an API token."""
    store = _store()
    with _store_errors():
        store.revoke_token(name)
    store.audit("token revoke", "succeeded", None, "cli", name)
    click.echo(f"Revoked {name}.")
