"""A real database outage inside a test: the default connection pointed where no database answers.

PostgreSQL: a port on 127.0.0.1 that nothing listens on (the connection is refused, as with a
stopped server). SQLite: a file in a folder that does not exist (sqlite cannot open it). Django
raises its OperationalError on the next query either way; on leaving, the connection is pointed
back and the next query connects again, as after a real outage. Use with transactional_db (a
test's surrounding transaction would not outlive a closed connection).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from django.db import connections


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on leaving: nothing listens there


@contextlib.contextmanager
def database_down(alias: str = "default") -> Iterator[None]:
    connection = connections[alias]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-portal-outage/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
