"""The SQLite store: users, sessions, API tokens, login attempts and the audit log.

Times are seconds since the epoch (UTC). Secrets are kept only as hashes:
passwords as argon2id, session ids and tokens as SHA-256 of random values.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

logger = logging.getLogger(__name__)

DB_FILE_NAME = "webadmin.sqlite3"
BUSY_TIMEOUT_MS = 5000
# Every poll looks up its session. Records are reused for this long, so a
# session ended by another process (the CLI) stays usable at most this long.
SESSION_CACHE_S = 5.0
MAX_CACHED_SESSIONS = 1000
ROLES = ("viewer", "admin")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    authenticated_at REAL NOT NULL,
    remember INTEGER NOT NULL,
    address TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
    created_at REAL NOT NULL,
    last_used_at REAL
);
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    succeeded INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_at ON login_attempts(at);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    username TEXT,
    address TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(Exception):
    """A store operation was rejected, such as a duplicate user name."""


@dataclass(frozen=True)
class User:
    """A person who can sign in."""

    id: int
    username: str
    role: str
    password_hash: str
    created_at: float

    @property
    def is_admin(self) -> bool:
        """Tell whether this user may change things."""
        return self.role == "admin"


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in browser, identified by the hash of its session id."""

    id_hash: str
    user: User
    created_at: float
    last_seen_at: float
    authenticated_at: float
    remember: bool


@dataclass(frozen=True)
class ApiToken:
    """A bearer token for the JSON API; only its hash is kept."""

    name: str
    role: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: float
    username: str | None
    address: str | None
    action: str
    outcome: str
    detail: str


class Store:
    """Access to the SQLite database, one connection per thread."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_FILE_NAME
        self._local = threading.local()
        self._session_cache: dict[str, tuple[float, SessionRecord]] = {}

    def initialize(self) -> None:
        """Create the data directory and the tables when they are missing."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # executescript manages its own transaction; every statement is idempotent.
        self._connection().executescript(SCHEMA)
        self.path.chmod(0o600)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, params).fetchall()

    # Users

    def add_user(self, username: str, password_hash: str, role: str) -> User:
        """Insert a user; raise StoreError when the name is taken."""
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                    (username, password_hash, role, time.time()),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"user {username!r} already exists") from None
        user = self.get_user(username)
        assert user is not None
        return user

    def get_user(self, username: str) -> User | None:
        """Return the user with this name, or None."""
        rows = self._query("SELECT * FROM users WHERE username = ?", (username,))
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        """Return every user, by name."""
        return [_user(r) for r in self._query("SELECT * FROM users ORDER BY username")]

    def count_users(self) -> int:
        """Return how many users exist."""
        return int(self._query("SELECT COUNT(*) FROM users")[0][0])

    def set_password(self, username: str, password_hash: str) -> None:
        """Replace a user's password and end all of the user's sessions."""
        with self._transaction() as db:
            cursor = db.execute("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))
            if cursor.rowcount == 0:
                raise StoreError(f"user {username!r} not found")
            db.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)",
                (username,),
            )
        self.clear_session_cache()

    def remove_user(self, username: str) -> None:
        """Delete a user and, through the foreign key, the user's sessions."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM users WHERE username = ?", (username,))
        self.clear_session_cache()
        if cursor.rowcount == 0:
            raise StoreError(f"user {username!r} not found")

    # Sessions

    def add_session(self, id_hash: str, user: User, remember: bool, address: str) -> None:
        """Record a new signed-in session."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (id_hash, user.id, now, now, now, int(remember), address),
            )

    def get_session(self, id_hash: str) -> SessionRecord | None:
        """Return the session and its user, or None when it does not exist."""
        cached = self._session_cache.get(id_hash)
        if cached is not None and time.monotonic() - cached[0] < SESSION_CACHE_S:
            return cached[1]
        record = self._read_session(id_hash)
        if record is None:
            self._session_cache.pop(id_hash, None)
            return None
        if len(self._session_cache) >= MAX_CACHED_SESSIONS:
            self._session_cache.clear()
        self._session_cache[id_hash] = (time.monotonic(), record)
        return record

    def clear_session_cache(self) -> None:
        """Forget cached sessions, so the next lookups read the database."""
        self._session_cache.clear()

    def _read_session(self, id_hash: str) -> SessionRecord | None:
        rows = self._query(
            "SELECT s.created_at AS s_created_at, s.last_seen_at, s.authenticated_at, s.remember, u.*"
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
            (id_hash,),
        )
        if not rows:
            return None
        row = rows[0]
        return SessionRecord(
            id_hash=id_hash,
            user=_user(row),
            created_at=row["s_created_at"],
            last_seen_at=row["last_seen_at"],
            authenticated_at=row["authenticated_at"],
            remember=bool(row["remember"]),
        )

    def touch_session(self, id_hash: str, now: float) -> None:
        """Record that the session's browser made a request."""
        with self._transaction() as db:
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (now, id_hash))
        cached = self._session_cache.get(id_hash)
        if cached is not None:
            self._session_cache[id_hash] = (cached[0], replace(cached[1], last_seen_at=now))

    def delete_session(self, id_hash: str) -> None:
        """End a session on the server."""
        with self._transaction() as db:
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
        self._session_cache.pop(id_hash, None)

    def delete_sessions_before(self, created_before: float, seen_before: float) -> int:
        """Delete sessions past their absolute or idle limit; return how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM sessions WHERE created_at < ? OR (remember = 0 AND last_seen_at < ?)",
                (created_before, seen_before),
            )
        self.clear_session_cache()
        return cursor.rowcount

    # API tokens

    def add_token(self, name: str, token_hash: str, role: str) -> None:
        """Store a new API token's hash; raise StoreError when the name is taken."""
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?, ?, ?, ?)",
                    (name, token_hash, role, time.time()),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"token {name!r} already exists") from None

    def find_token(self, token_hash: str) -> ApiToken | None:
        """Return the token with this hash, or None."""
        rows = self._query("SELECT * FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return _token(rows[0]) if rows else None

    def touch_token(self, token_hash: str, now: float) -> None:
        """Record when a token was last used."""
        with self._transaction() as db:
            db.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?", (now, token_hash))

    def list_tokens(self) -> list[ApiToken]:
        """Return every API token, by name."""
        return [_token(r) for r in self._query("SELECT * FROM api_tokens ORDER BY name")]

    def revoke_token(self, name: str) -> None:
        """Delete an API token; raise StoreError when there is none by that name."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
        if cursor.rowcount == 0:
            raise StoreError(f"token {name!r} not found")

    # Login attempts

    def record_login_attempt(self, username: str, address: str, succeeded: bool) -> None:
        """Record one login attempt for the lockout and rate limits."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO login_attempts (at, username, address, succeeded) VALUES (?, ?, ?, ?)",
                (time.time(), username, address, int(succeeded)),
            )

    def count_failures_for_user(self, username: str, since: float) -> int:
        """Count failed logins for a user name since a time."""
        rows = self._query(
            "SELECT COUNT(*) FROM login_attempts WHERE username = ? AND succeeded = 0 AND at >= ?",
            (username, since),
        )
        return int(rows[0][0])

    def count_attempts_from(self, address: str, since: float) -> int:
        """Count login attempts, failed or not, from one address since a time."""
        rows = self._query("SELECT COUNT(*) FROM login_attempts WHERE address = ? AND at >= ?", (address, since))
        return int(rows[0][0])

    def last_failure_for_user(self, username: str) -> float | None:
        """Return the time of the newest failed login for a user name."""
        rows = self._query("SELECT MAX(at) FROM login_attempts WHERE username = ? AND succeeded = 0", (username,))
        value = rows[0][0]
        return float(value) if value is not None else None

    def delete_login_attempts_before(self, before: float) -> None:
        """Forget login attempts too old to matter for any limit."""
        with self._transaction() as db:
            db.execute("DELETE FROM login_attempts WHERE at < ?", (before,))

    # Audit log

    def audit(self, action: str, outcome: str, username: str | None, address: str | None, detail: str = "") -> None:
        """Append one entry to the audit log."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO audit_log (at, username, address, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), username, address, action, outcome, detail),
            )

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        """Return the newest audit entries, newest first."""
        rows = self._query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        return [AuditEntry(r["at"], r["username"], r["address"], r["action"], r["outcome"], r["detail"]) for r in rows]

    # Setup tokens and app settings

    def replace_setup_token(self, token_hash: str, expires_at: float) -> None:
        """Keep only this one setup token."""
        with self._transaction() as db:
            db.execute("DELETE FROM setup_tokens")
            db.execute("INSERT INTO setup_tokens VALUES (?, ?)", (token_hash, expires_at))

    def consume_setup_token(self, token_hash: str, now: float) -> bool:
        """Delete the setup token if it matches and has not expired; tell whether it did."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ?", (token_hash, now))
        return cursor.rowcount == 1

    def get_or_create_setting(self, key: str, make_value: str) -> str:
        """Return a stored setting, storing ``make_value`` first when it is missing."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO app_settings VALUES (?, ?)", (key, make_value))
            row = db.execute("SELECT value FROM app_settings WHERE key = ?", (key,)).fetchone()
        return str(row[0])


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["username"], row["role"], row["password_hash"], row["created_at"])


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(row["name"], row["role"], row["created_at"], row["last_used_at"])
