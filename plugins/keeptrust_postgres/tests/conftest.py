"""A real PostgreSQL for every test: ``KEEPTRUST_TEST_POSTGRES_DSN`` (``scripts/test-services`` starts
one), each test in a schema of its own that is dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest


@pytest.fixture
def postgres_dsn() -> str:
    dsn = os.environ.get("KEEPTRUST_TEST_POSTGRES_DSN")
    if not dsn:
        message = 'PostgreSQL is not available: run `eval "$(scripts/test-services)"` (installs and starts it)'
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return dsn


@pytest.fixture
def pg_schema(postgres_dsn: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    schema = "kt_test_" + secrets.token_hex(4)
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
