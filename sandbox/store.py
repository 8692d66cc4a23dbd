"""The sandbox's own storage: a SQLite file, separate from the portal's database.

Rows are kept as precomputed JSON text keyed by (token, collection, id), so a page of a
collection is served by concatenating stored strings. `ref` holds a lookup key where a
collection needs one (an order's customer_order, a queue's serial, a task's serial and
sequence); `tag` a filter (RMAs: open/closed).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    token TEXT PRIMARY KEY, secret TEXT NOT NULL, organization_id INTEGER, name TEXT,
    webhook_url TEXT
);
CREATE TABLE IF NOT EXISTS rows (
    token TEXT NOT NULL, collection TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL,
    ref TEXT, tag TEXT, created_via TEXT DEFAULT 'seed',
    PRIMARY KEY (token, collection, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_ref ON rows (token, collection, ref);
CREATE INDEX IF NOT EXISTS rows_tag ON rows (token, collection, tag, id);
-- Keys only: skipping OFFSET rows walks this small index, not the table's JSON bodies.
CREATE INDEX IF NOT EXISTS rows_ids ON rows (token, collection, id);
CREATE TABLE IF NOT EXISTS idempotency (
    token TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
    response TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (token, key)
);
CREATE TABLE IF NOT EXISTS webhook_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, delivered_at REAL, last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_queue (delivered_at, next_at);
"""


class Store:
    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self.write_lock = threading.RLock()
        self._counts: dict[tuple, int] = {}
        with self.connection() as conn:
            conn.executescript(SCHEMA)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction at a time (BEGIN IMMEDIATE under a process lock)."""
        with self.write_lock:
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._counts.clear()

    # -- organizations ---------------------------------------------------------------------
    def put_org(
        self, token: str, secret: str, organization_id: int | None, name: str = "", webhook_url: str | None = None
    ) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO orgs (token, secret, organization_id, name, webhook_url) VALUES (?,?,?,?,?) "
                "ON CONFLICT (token) DO UPDATE SET secret=excluded.secret, organization_id=excluded.organization_id,"
                " name=excluded.name, webhook_url=COALESCE(excluded.webhook_url, orgs.webhook_url)",
                (token, secret, organization_id, name, webhook_url),
            )

    def set_webhook_url(self, token: str, url: str | None) -> None:
        with self.write() as conn:
            conn.execute("UPDATE orgs SET webhook_url=? WHERE token=?", (url, token))

    def org(self, token: str) -> dict | None:
        row = (
            self.connection()
            .execute("SELECT token, secret, organization_id, name, webhook_url FROM orgs WHERE token=?", (token,))
            .fetchone()
        )
        if row is None:
            return None
        return dict(zip(("token", "secret", "organization_id", "name", "webhook_url"), row, strict=True))

    def tokens(self) -> list[str]:
        return [r[0] for r in self.connection().execute("SELECT token FROM orgs ORDER BY token")]

    # -- rows ----------------------------------------------------------------------------
    def count(self, token: str, collection: str, tag: str | None = None) -> int:
        key = (token, collection, tag)
        if key not in self._counts:
            if tag is None:
                sql = "SELECT COUNT(*) FROM rows WHERE token=? AND collection=?"
                args: tuple[str, ...] = (token, collection)
            else:
                sql = "SELECT COUNT(*) FROM rows WHERE token=? AND collection=? AND tag=?"
                args = (token, collection, tag)
            self._counts[key] = self.connection().execute(sql, args).fetchone()[0]
        return self._counts[key]

    def page(self, token: str, collection: str, offset: int, limit: int, tag: str | None = None) -> list[str]:
        """One page in ascending id order: find the first id through a keys-only index, then
        read `limit` bodies from there (OFFSET never walks the stored JSON)."""
        conn = self.connection()
        args: tuple[str, ...] = (token, collection) if tag is None else (token, collection, tag)
        if tag is None:
            where, index = "token=? AND collection=?", "rows_ids"
        else:
            where, index = "token=? AND collection=? AND tag=?", "rows_tag"
        # `index` and `where` are the constants above; every value is bound.
        first_sql = f"SELECT id FROM rows INDEXED BY {index} WHERE {where} ORDER BY id LIMIT 1 OFFSET ?"  # nosec B608
        first = conn.execute(first_sql, (*args, offset)).fetchone()
        if first is None:
            return []
        rows_sql = f"SELECT body FROM rows WHERE {where} AND id >= ? ORDER BY id LIMIT ?"  # nosec B608
        rows = conn.execute(rows_sql, (*args, first[0], limit))
        return [r[0] for r in rows]

    def iter_bodies(self, token: str, collection: str, batch: int = 2000) -> Iterator[str]:
        last = -1
        conn = self.connection()
        while True:
            rows = conn.execute(
                "SELECT id, body FROM rows WHERE token=? AND collection=? AND id>? ORDER BY id LIMIT ?",
                (token, collection, last, batch),
            ).fetchall()
            if not rows:
                return
            for _, body in rows:
                yield body
            last = rows[-1][0]

    def get(self, token: str, collection: str, id_: int) -> dict | None:
        row = (
            self.connection()
            .execute("SELECT body FROM rows WHERE token=? AND collection=? AND id=?", (token, collection, id_))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def find(self, token: str, collection: str, ref: str) -> list[dict]:
        rows = (
            self.connection()
            .execute(
                "SELECT body FROM rows WHERE token=? AND collection=? AND ref=? ORDER BY id", (token, collection, ref)
            )
            .fetchall()
        )
        return [json.loads(r[0]) for r in rows]

    def next_id(self, conn: sqlite3.Connection, token: str, collection: str, floor: int = 1000) -> int:
        row = conn.execute("SELECT MAX(id) FROM rows WHERE token=? AND collection=?", (token, collection)).fetchone()
        return max(row[0] or 0, floor) + 1

    @staticmethod
    def save(
        conn: sqlite3.Connection,
        token: str,
        collection: str,
        obj: dict,
        ref: str | None = None,
        tag: str | None = None,
        created_via: str = "seed",
    ) -> None:
        conn.execute(
            "INSERT INTO rows (token, collection, id, body, ref, tag, created_via) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (token, collection, id) DO UPDATE SET body=excluded.body, ref=excluded.ref, tag=excluded.tag",
            (token, collection, int(obj["id"]), json.dumps(obj, separators=(",", ":")), ref, tag, created_via),
        )

    @staticmethod
    def save_many(
        conn: sqlite3.Connection, token: str, collection: str, rows: Iterable[tuple[int, str, str | None, str | None]]
    ) -> None:
        conn.executemany(
            "INSERT OR REPLACE INTO rows (token, collection, id, body, ref, tag) VALUES (?,?,?,?,?,?)",
            ((token, collection, id_, body, ref, tag) for id_, body, ref, tag in rows),
        )

    def delete(self, conn: sqlite3.Connection, token: str, collection: str, ids: Iterable[int]) -> int:
        cur = conn.executemany(
            "DELETE FROM rows WHERE token=? AND collection=? AND id=?", ((token, collection, int(i)) for i in ids)
        )
        return cur.rowcount

    def created_count(self, token: str, collection: str) -> int:
        return (
            self.connection()
            .execute(
                "SELECT COUNT(*) FROM rows WHERE token=? AND collection=? AND created_via='api'", (token, collection)
            )
            .fetchone()[0]
        )

    # -- idempotency -----------------------------------------------------------------------
    def idempotent(self, conn, token: str, key: str) -> tuple[str, int, str] | None:
        row = conn.execute(
            "SELECT request_hash, status, response FROM idempotency WHERE token=? AND key=? AND created_at>?",
            (token, key, time.time() - 24 * 3600),
        ).fetchone()
        return tuple(row) if row else None

    @staticmethod
    def remember(conn, token: str, key: str, request_hash: str, status: int, response: str) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO idempotency (token, key, request_hash, status, response, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (token, key, request_hash, status, response, time.time()),
        )

    # -- webhooks --------------------------------------------------------------------------
    @staticmethod
    def enqueue_webhook(conn, token: str, url: str, body: str) -> None:
        conn.execute(
            "INSERT INTO webhook_queue (token, url, body, next_at) VALUES (?,?,?,?)", (token, url, body, time.time())
        )

    def due_webhooks(self, limit: int = 20) -> list[tuple]:
        return (
            self.connection()
            .execute(
                "SELECT w.id, w.token, w.url, w.body, w.attempts, o.secret FROM webhook_queue w "
                "JOIN orgs o ON o.token = w.token WHERE w.delivered_at IS NULL AND w.next_at <= ? "
                "ORDER BY w.id LIMIT ?",
                (time.time(), limit),
            )
            .fetchall()
        )

    def webhook_result(self, id_: int, status: int | None, error: str, next_at: float | None) -> None:
        with self.write() as conn:
            if next_at is None:
                conn.execute(
                    "UPDATE webhook_queue SET delivered_at=?, attempts=attempts+1, last_status=?, "
                    "last_error='' WHERE id=?",
                    (time.time(), status, id_),
                )
            else:
                conn.execute(
                    "UPDATE webhook_queue SET attempts=attempts+1, last_status=?, last_error=?, next_at=? WHERE id=?",
                    (status, error, next_at, id_),
                )

    def webhook_log(self, token: str | None = None) -> list[dict]:
        sql = "SELECT id, token, url, body, attempts, delivered_at, last_status, last_error FROM webhook_queue"
        args: tuple = ()
        if token:
            sql += " WHERE token=?"
            args = (token,)
        keys = ("id", "token", "url", "body", "attempts", "delivered_at", "last_status", "last_error")
        return [dict(zip(keys, r, strict=True)) for r in self.connection().execute(sql + " ORDER BY id", args)]
