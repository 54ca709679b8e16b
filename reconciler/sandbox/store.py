"""SQLite storage for the sandbox: orgs, hashed tokens, objects, custom properties, write counts.

WAL mode, one connection per thread, and every read-modify-write inside one ``BEGIN IMMEDIATE``
transaction with a busy timeout. Writers of one process also queue on a lock first, so they take
turns instead of polling SQLite's busy handler; the busy timeout covers writers in other processes
(``reconciler sandbox token`` while ``reconciler sandbox serve`` runs).

Tokens are stored as SHA-256 hashes. A token is ``ics_v1_`` + 48 hex digits; its first 16 digits
are a public lookup key, so the secret hash is compared once, with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.sandbox import SandboxError

SCHEMA_VERSION = 1
TOKEN_PREFIX = "ics_v1_"
_TOKEN = re.compile(r"ics_v1_([0-9a-f]{16})[0-9a-f]{32}")
ORG_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

_SCHEMA = """
CREATE TABLE orgs (
    slug TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    writes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
    key_id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    org TEXT NOT NULL REFERENCES orgs (slug),
    created_at TEXT NOT NULL
);
CREATE TABLE objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL REFERENCES orgs (slug),
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org, kind, id)
);
CREATE INDEX objects_by_org ON objects (org, kind, seq);
CREATE TABLE custom_properties (
    org TEXT NOT NULL REFERENCES orgs (slug),
    line INTEGER NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (org, line)
);
"""

Attributes = dict[str, Any]


class StoreError(SandboxError):
    """The database cannot be opened or used: one line for the user."""


@dataclass(frozen=True)
class StoredObject:
    id: str
    attributes: Attributes
    created_at: str
    updated_at: str


_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    """One lock per database file and process, shared by every Store open on it."""
    key = str(path.resolve())
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_org_slug(org: str) -> str:
    if not ORG_SLUG.fullmatch(org):
        raise SandboxError(
            f"invalid org slug {org!r}: use 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return org


class Store:
    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = _write_lock(path)
        try:
            self._init_schema()
        except sqlite3.Error as exc:
            self.release()
            raise StoreError(f"cannot use the sandbox database {path}: {exc}") from exc

    # connections and transactions

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def release(self) -> None:
        """Close the calling thread's connection (the next call opens a new one)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    close = release

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One read-modify-write: BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        conn = self._connection()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _init_schema(self) -> None:
        conn = self._connection()
        conn.execute("PRAGMA journal_mode = WAL")
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise sqlite3.DatabaseError("not a sandbox database")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"unsupported schema version {version}")

    @staticmethod
    def _count_write(conn: sqlite3.Connection, org: str) -> None:
        conn.execute("UPDATE orgs SET writes = writes + 1 WHERE slug = ?", (org,))

    # orgs and tokens

    def create_token(self, org: str) -> str:
        """A new token bound to ``org``, creating the org if needed."""
        check_org_slug(org)
        token = TOKEN_PREFIX + secrets.token_hex(24)
        key_id = token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 16]
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO orgs (slug, created_at) VALUES (?, ?)", (org, _now())
            )
            conn.execute(
                "INSERT INTO tokens (key_id, hash, org, created_at) VALUES (?, ?, ?, ?)",
                (key_id, _hash(token), org, _now()),
            )
        return token

    def revoke_token(self, token: str) -> None:
        match = _TOKEN.fullmatch(token)
        if match:
            with self._write() as conn:
                conn.execute("DELETE FROM tokens WHERE key_id = ?", (match.group(1),))

    def authenticate(self, token: str) -> str | None:
        """The org a token belongs to, or None for an unknown token."""
        match = _TOKEN.fullmatch(token)
        if not match:
            return None
        row = (
            self._connection()
            .execute("SELECT hash, org FROM tokens WHERE key_id = ?", (match.group(1),))
            .fetchone()
        )
        if row is None or not hmac.compare_digest(row[0], _hash(token)):
            return None
        org: str = row[1]
        return org

    def write_count(self, org: str) -> int:
        row = (
            self._connection().execute("SELECT writes FROM orgs WHERE slug = ?", (org,)).fetchone()
        )
        return int(row[0]) if row else 0

    # objects

    def list_objects(self, org: str, kind: str) -> list[StoredObject]:
        rows = (
            self._connection()
            .execute(
                "SELECT id, attributes, created_at, updated_at FROM objects"
                " WHERE org = ? AND kind = ? ORDER BY seq",
                (org, kind),
            )
            .fetchall()
        )
        return [_stored(row) for row in rows]

    def get_object(self, org: str, kind: str, object_id: str) -> StoredObject | None:
        return _fetch(self._connection(), org, kind, object_id)

    def create_object(self, org: str, kind: str, attributes: Attributes) -> StoredObject:
        now = _now()
        obj = StoredObject(str(uuid.uuid4()), attributes, now, now)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO objects (org, kind, id, attributes, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (org, kind, obj.id, json.dumps(attributes), now, now),
            )
            self._count_write(conn, org)
        return obj

    def update_object(
        self, org: str, kind: str, object_id: str, change: Callable[[Attributes], Attributes]
    ) -> StoredObject | None:
        """Apply ``change`` to the stored attributes in one transaction; None if there is no object.

        An exception raised by ``change`` rolls the transaction back and propagates.
        """
        with self._write() as conn:
            current = _fetch(conn, org, kind, object_id)
            if current is None:
                return None
            attributes = change(current.attributes)
            updated = StoredObject(object_id, attributes, current.created_at, _now())
            conn.execute(
                "UPDATE objects SET attributes = ?, updated_at = ?"
                " WHERE org = ? AND kind = ? AND id = ?",
                (json.dumps(attributes), updated.updated_at, org, kind, object_id),
            )
            self._count_write(conn, org)
        return updated

    def delete_object(self, org: str, kind: str, object_id: str) -> bool:
        with self._write() as conn:
            deleted = conn.execute(
                "DELETE FROM objects WHERE org = ? AND kind = ? AND id = ?", (org, kind, object_id)
            ).rowcount
            if deleted:
                self._count_write(conn, org)
        return bool(deleted)

    # custom properties

    def replace_custom_properties(self, org: str, rows: Sequence[Sequence[str]]) -> None:
        """Replace the org's whole table (header row first) in one transaction."""
        with self._write() as conn:
            conn.execute("DELETE FROM custom_properties WHERE org = ?", (org,))
            conn.executemany(
                "INSERT INTO custom_properties (org, line, cells) VALUES (?, ?, ?)",
                ((org, line, json.dumps(list(cells))) for line, cells in enumerate(rows)),
            )
            self._count_write(conn, org)

    def custom_properties(self, org: str) -> list[list[str]]:
        rows = (
            self._connection()
            .execute("SELECT cells FROM custom_properties WHERE org = ? ORDER BY line", (org,))
            .fetchall()
        )
        return [json.loads(row[0]) for row in rows]


def _fetch(conn: sqlite3.Connection, org: str, kind: str, object_id: str) -> StoredObject | None:
    row = conn.execute(
        "SELECT id, attributes, created_at, updated_at FROM objects"
        " WHERE org = ? AND kind = ? AND id = ?",
        (org, kind, object_id),
    ).fetchone()
    return None if row is None else _stored(row)


def _stored(row: tuple[str, str, str, str]) -> StoredObject:
    return StoredObject(row[0], json.loads(row[1]), row[2], row[3])
