"""The audit tables in PostgreSQL, as ``keeptrust.audit.tables`` reads and prunes them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

DEFAULT_SCHEMA = "public"


def split_location(location: str) -> tuple[str, str]:
    """``postgresql://user@host/db#schema`` → (the DSN libpq takes, the schema; ``public`` by default)."""
    dsn, _, schema = location.partition("#")
    return dsn, schema or DEFAULT_SCHEMA


def display(dsn: str) -> str:
    """The DSN as reports may show it: ``postgresql://user@host:port/dbname``, never the password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:
        return "postgresql://?"
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host', '')}{port}/{info.get('dbname', '')}"


class PostgresDB:
    """``keeptrust.audit.tables.TableDB`` over a psycopg connection (autocommit; ``?`` → ``%s``)."""

    def __init__(self, conn: Any, where: str) -> None:
        self.conn = conn
        self.where = where

    @classmethod
    def open(cls, dsn: str, schema: str = DEFAULT_SCHEMA, *, writable: bool = False, timeout: float = 10) -> PostgresDB:
        import psycopg
        from psycopg import sql

        conn = psycopg.connect(dsn, connect_timeout=max(1, int(timeout)), autocommit=True)
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        if not writable:
            conn.execute("SET default_transaction_read_only TO on")
        suffix = "" if schema == DEFAULT_SCHEMA else f"#{schema}"
        return cls(conn, display(dsn) + suffix)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(sql.replace("?", "%s"), tuple(args))
        return cursor.fetchall() if cursor.description is not None else []

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)

    def transaction(self) -> AbstractContextManager[Any]:
        return self.conn.transaction()

    def close(self) -> None:
        self.conn.close()
