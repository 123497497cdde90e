"""keeptrust-postgres: the audit-logger's ``postgres`` destination, and ``kt audit`` on PostgreSQL."""

from keeptrust_postgres.sink import PostgresOptions, PostgresSink

__all__ = ["PostgresOptions", "PostgresSink"]
