"""Scratch databases on the PostgreSQL and MariaDB/MySQL servers, for tests and benchmarks.

Each scratch database gets a random name, is created empty and dropped at the end. The
servers are found through ``METALSCOPE_TEST_POSTGRESQL_URL`` and ``METALSCOPE_TEST_MYSQL_URL``
(administrative URLs), by default the local services with trust / empty-password access.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.engine import URL, make_url

DEFAULT_SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}
ENVIRONMENT = {"postgresql": "METALSCOPE_TEST_POSTGRESQL_URL",
               "mariadb": "METALSCOPE_TEST_MYSQL_URL"}


def server_url(kind: str) -> URL:
    return make_url(os.environ.get(ENVIRONMENT[kind]) or DEFAULT_SERVERS[kind])


def server_problem(kind: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        _execute(kind, "SELECT 1")
    except Exception as exc:
        return f"{kind} at {server_url(kind).render_as_string(hide_password=True)}: {exc}"
    return None


def _execute(kind: str, statement: str) -> None:
    url = server_url(kind)
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(url.set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)
        return
    import pymysql

    conn = pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306,
                           user=url.username or "root", password=url.password or "",
                           connect_timeout=5, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@dataclass
class ScratchDatabase:
    """An empty database on a server; ``url`` is what ``[database]connection`` takes."""

    kind: str
    name: str
    url: str

    @classmethod
    def create(cls, kind: str, prefix: str = "metalscope_test") -> ScratchDatabase:
        name = f"{prefix}_{secrets.token_hex(4)}"
        if kind == "postgresql":
            _execute(kind, f'CREATE DATABASE "{name}"')
            url = server_url(kind).set(drivername="postgresql", database=name)
        else:
            _execute(kind, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            url = server_url(kind).set(drivername="mysql+pymysql", database=name)
        return cls(kind, name, url.render_as_string(hide_password=False))

    def drop(self) -> None:
        if self.kind == "postgresql":
            _execute(self.kind, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            _execute(self.kind, f"DROP DATABASE IF EXISTS `{self.name}`")

    def __enter__(self) -> ScratchDatabase:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.drop()
