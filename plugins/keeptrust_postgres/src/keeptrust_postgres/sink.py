"""Sink ``postgres``: the audit log of every gateway in one PostgreSQL database.

    audit-logger:
      destination: postgres
      sink:
        dsn_ref: {env: KEEPTRUST_AUDIT_DSN}     # or dsn: postgresql://... (no password in files)
        schema: public

Each gateway process writes its own hash chain (``chain`` = a new id at every start) into the same
tables, one transaction per batch: the records and the chain's durable head (signed with the
audit-logger's ``signing_key_ref``) commit together, so a committed head never names a record that is
not there. ``fsync: interval`` turns ``synchronous_commit`` off for the sink's session (a crash may
lose the last moments, as with a file sink); ``batch`` and ``every_record`` keep PostgreSQL's durable
commit. Retention (``retention_days``) deletes the oldest records of each chain behind an anchor row.

psycopg is synchronous here: one connection per sink, used from a worker thread, one call at a time.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio

from keeptrust.audit.sink import GENESIS, ChainState, OpenedChain, SinkEnv, new_chain_id
from keeptrust.audit.tables import append_records, prune_tables, set_head
from keeptrust.config.model import SecretRef
from keeptrust.errors import ConfigError
from keeptrust_postgres.schema import migrate
from keeptrust_postgres.tables import PostgresDB, display, split_location

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


@attrs.frozen(kw_only=True)
class PostgresOptions:
    # A libpq connection string or URI. Prefer ``dsn_ref``: a password in the config file is a secret
    # in a file.
    dsn: str | None = None
    dsn_ref: SecretRef | None = None
    # The schema holding the tables (created when missing).
    schema: str = attrs.field(default="public", validator=attrs.validators.matches_re(_IDENTIFIER))
    connect_timeout_seconds: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))

    def __attrs_post_init__(self) -> None:
        if (self.dsn is None) == (self.dsn_ref is None):
            raise ValueError("set exactly one of 'dsn' and 'dsn_ref'")


def resolve_dsn(options: PostgresOptions, environ: Any) -> str:
    if options.dsn is not None:
        return options.dsn
    assert options.dsn_ref is not None
    value = environ.get(options.dsn_ref.env)
    if not value:
        raise ConfigError(
            f"policies.policy.audit-logger.sink.dsn_ref.env: environment variable {options.dsn_ref.env} is not set"
        )
    return value


def connect(dsn: str, schema: str, timeout: float, *, durable: bool = True) -> Any:
    import psycopg
    from psycopg import sql

    conn = psycopg.connect(dsn, connect_timeout=max(1, int(timeout)), autocommit=True)
    migrate(conn, schema)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    if not durable:
        conn.execute("SET synchronous_commit TO off")
    return conn


class PostgresSink:
    name = "postgres"
    config_class = PostgresOptions
    # ``kt audit verify|tail|query|prune postgresql://...`` read the log through ``open_log``.
    schemes = ("postgresql", "postgres")

    def __init__(self, config: PostgresOptions, env: SinkEnv) -> None:
        self.options = config
        self.audit = env.audit
        self.dsn = resolve_dsn(config, env.environ)
        env.add_secret(self.dsn)
        self._password(env)
        self.signer = env.signer
        self.chain = new_chain_id()
        self.conn: Any = None
        self._limiter = trio.CapacityLimiter(1)

    def _password(self, env: SinkEnv) -> None:
        # The password alone must be scrubbed too (a driver error may quote it without the DSN).
        from psycopg.conninfo import conninfo_to_dict

        try:
            password = conninfo_to_dict(self.dsn).get("password")
        except Exception:  # an unparsable DSN fails at connect with psycopg's own message
            return
        if password:
            env.add_secret(str(password))

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def open(self) -> OpenedChain:
        def open_db() -> None:
            self.conn = connect(
                self.dsn,
                self.options.schema,
                self.options.connect_timeout_seconds,
                durable=self.audit.fsync != "interval",
            )
            # The chain has a durable head from its first moment: a missing head is always damage.
            db = PostgresDB(self.conn, display(self.dsn))
            set_head(db, self.chain, -1, GENESIS if self.audit.immutable else None, self.signer)

        await self._run(open_db)
        return OpenedChain(ChainState(self.chain))

    async def write(self, records: list[dict[str, Any]]) -> None:
        await self._run(self._insert, records)

    def _insert(self, records: list[dict[str, Any]]) -> None:
        assert self.conn is not None, "write before open"
        db = PostgresDB(self.conn, display(self.dsn))
        append_records(db, self.chain, records, self.signer, per_record=self.audit.fsync == "every_record")

    async def prune(self, now: float) -> int:
        days = self.audit.retention_days
        if days is None:
            return 0
        db = PostgresDB(self.conn, display(self.dsn))
        return await self._run(prune_tables, db, now - days * 86400, self.signer)

    @classmethod
    def open_log(cls, location: str, writable: bool = False) -> PostgresDB:
        """The log at ``postgresql://...[#schema]`` for ``kt audit`` (read-only unless ``writable``)."""
        dsn, schema = split_location(location)
        return PostgresDB.open(dsn, schema, writable=writable)

    async def aclose(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self._run(conn.close)
