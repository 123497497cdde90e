"""``kt audit verify|tail|query|prune``: read, prove and prune what the audit-logger wrote.

PATH is an audit directory (``./keeptrust-audit``: every chain in it, the SQLite database and the
api spool), one chain directory, a SQLite database file, or the URL of a database an installed sink
writes (``postgresql://user@host/db``, with ``#schema`` when not ``public``: keeptrust-postgres).

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from keeptrust.hookspecs import hookimpl


class _Location(click.ParamType):
    """An existing path, or a URL an installed sink reads (``postgresql://...``)."""

    name = "PATH|URL"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from keeptrust.audit.locations import is_url

        if isinstance(value, str) and is_url(value):
            return value
        return click.Path(exists=True, path_type=Path).convert(value, param, ctx)


LOCATION = _Location()


@contextlib.contextmanager
def _table_log(location: str, writable: bool = False) -> Any:
    from keeptrust.audit.locations import UnknownLocation, open_table_log

    try:
        with open_table_log(location, writable=writable) as db:
            yield db
    except UnknownLocation as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _read(path: Any, flt: Any, limit: int | None = None, newest: bool = False) -> list[dict[str, Any]]:
    if isinstance(path, str):
        from keeptrust.audit.tables import select_records

        with _table_log(path) as db:
            return select_records(db, flt, limit, newest)
    from keeptrust.audit.query import read_records

    return read_records(path, flt, limit=limit, newest=newest)


@click.group()
def audit() -> None:
    """Verify, read and prune audit logs."""


@audit.command("verify")
@click.argument("path", type=LOCATION)
@click.option(
    "--policy-config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Take what the log promises (immutable, signing_key_ref) from this config's audit-logger block.",
)
@click.option(
    "--key-env",
    "key_envs",
    multiple=True,
    metavar="NAME[:KEY_ID]",
    help="Environment variable holding a signing key (and the signing_key_id it signs under, when not "
    "the default); heads and anchors must be signed by one such key. Repeat for the keys of a rotation.",
)
@click.option("--allow-missing-head", is_flag=True, help="Accept a chain whose durable head is missing (a warning).")
@click.option(
    "--not-hash-chained",
    is_flag=True,
    help="The log was written with immutable: false: check seq continuity only.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def verify(
    path: Path,
    config_path: str | None,
    key_envs: tuple[str, ...],
    allow_missing_head: bool,
    not_hash_chained: bool,
    as_json: bool,
) -> None:
    """Check every chain under PATH; exit 1 at the first broken record, naming it and why.

    What the log promises comes from the operator (--policy-config, flags), never from files in the
    log directory: by default every record must be hash-chained and every chain must have its head."""
    from keeptrust.audit.query import terminal_safe
    from keeptrust.audit.verify import summary_lines, verify_path

    expect = operator_expectations(config_path, key_envs, allow_missing_head, not_hash_chained)
    if isinstance(path, str):
        from keeptrust.audit.tables import verify_tables

        with _table_log(path) as db:
            reports = verify_tables(db, expect)
    else:
        reports = verify_path(path, expect)
    failed = [r for r in reports if not r.ok]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for line in summary_lines(reports):
            click.echo(terminal_safe(line))
        if not reports:
            click.echo(f"FAIL: no audit log found under {path}")
        elif failed:
            click.echo(f"FAIL: {len(failed)} of {len(reports)} chain(s) broken")
        else:
            click.echo(f"OK: {len(reports)} chain(s), {sum(r.records for r in reports)} record(s) verified")
    sys.exit(1 if failed or not reports else 0)


def operator_expectations(
    config_path: str | None, key_envs: tuple[str, ...], allow_missing_head: bool, not_hash_chained: bool
) -> Any:
    """The ``Expectations`` of ``kt audit verify``'s options (``kt audit serve`` takes the same ones);
    exits with a message when a key or the config is unusable."""
    from keeptrust.audit.signing import Keyring
    from keeptrust.audit.verify import Expectations

    immutable = not not_hash_chained
    keys = [_key_from_env(*_name_and_id(spec)) for spec in key_envs]
    if config_path is not None:
        block = _audit_block(config_path)
        if block is not None:
            immutable = immutable and block.immutable
            if block.signing_key_ref is not None and not key_envs:
                keys.append(_key_from_env(block.signing_key_ref.env, block.signing_key_id))
    return Expectations(immutable=immutable, require_head=not allow_missing_head, keys=Keyring(keys))


def _name_and_id(spec: str) -> tuple[str, str | None]:
    name, _, key_id = spec.partition(":")
    return name, key_id or None


def _key_from_env(name: str, key_id: str | None) -> Any:
    from keeptrust.audit.signing import SigningKey, key_problem

    secret = os.environ.get(name)
    problem = key_problem(secret, f"environment variable {name}")
    if problem:
        click.echo(f"error: {problem} (the audit signing key)", err=True)
        sys.exit(2)
    assert secret is not None
    return SigningKey.from_secret(secret, key_id)


def _filter_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--request-id"),
            click.option("--status", type=int),
            click.option("--model"),
            click.option("--target"),
            click.option("--role"),
            click.option("--type", "type_", help="request, access, start, recovery, drops"),
            click.option("--since", help="ISO time or prefix, e.g. 2026-11-26T13:00"),
            click.option("--until", help="ISO time or prefix (exclusive)"),
        ]
    ):
        fn = option(fn)
    return fn


def _emit(records: list[dict[str, Any]], as_json: bool) -> None:
    from keeptrust.audit.query import json_line, summary

    for record in records:
        click.echo(json_line(record) if as_json else summary(record))


@audit.command("tail")
@click.argument("path", type=LOCATION)
@click.option("-n", "--lines", "count", default=20, show_default=True, help="How many of the newest records.")
@click.option("--json", "as_json", is_flag=True, help="Whole records, one JSON object a line.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records as they arrive.")
@_filter_options
def tail(path: Path, count: int, as_json: bool, follow: bool, **filters: Any) -> None:
    """Show the newest records."""
    flt = _make_filter(filters)
    records = _read(path, flt, limit=count, newest=True)
    _emit(records, as_json)
    seen = {(r.get("chain"), r.get("seq")) for r in records}
    while follow:
        time.sleep(1.0)
        fresh = [
            r
            for r in _read(path, flt, limit=max(count, 1000), newest=True)
            if (r.get("chain"), r.get("seq")) not in seen
        ]
        seen.update((r.get("chain"), r.get("seq")) for r in fresh)
        _emit(fresh, as_json)


@audit.command("query")
@click.argument("path", type=LOCATION)
@click.option("--limit", type=int, default=None, help="At most this many records (oldest first).")
@click.option("--json/--summary", "as_json", default=True, show_default=True)
@_filter_options
def query(path: Path, limit: int | None, as_json: bool, **filters: Any) -> None:
    """Print the records matching every filter given, oldest first."""
    _emit(_read(path, _make_filter(filters), limit=limit), as_json)


def _make_filter(filters: dict[str, Any]) -> Any:
    from keeptrust.audit.query import Filter

    filters["type"] = filters.pop("type_", None)
    return Filter(**filters)


@audit.command("prune")
@click.argument("path", type=LOCATION)
@click.option("--retention-days", type=float, default=None, help="Prune segments older than this.")
@click.option(
    "--policy-config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Take retention_days (and signing_key_ref) from this config's audit-logger block.",
)
@click.option(
    "--key-env",
    metavar="NAME[:KEY_ID]",
    help="Sign the anchors with the key in this environment variable (under KEY_ID, if given).",
)
def prune(path: Path, retention_days: float | None, config_path: str | None, key_env: str | None) -> None:
    """Remove whole segments (or SQLite rows) older than the retention, behind a verifiable anchor."""
    from keeptrust.audit.prune import prune_directory
    from keeptrust.audit.sqlite_sink import connect, prune_database
    from keeptrust.audit.verify import find_logs

    signer = None
    if key_env is not None:
        signer = _key_from_env(*_name_and_id(key_env))
    if config_path is not None:
        block = _audit_block(config_path)
        if block is not None:
            if retention_days is None:
                retention_days = block.retention_days
            if signer is None and block.signing_key_ref is not None:
                signer = _key_from_env(block.signing_key_ref.env, block.signing_key_id)
    if retention_days is None:
        click.echo("error: give --retention-days, or --policy-config with audit-logger.retention_days", err=True)
        sys.exit(2)
    cutoff = time.time() - retention_days * 86400
    total = 0
    if isinstance(path, str):
        from keeptrust.audit.tables import prune_tables

        with _table_log(path, writable=True) as db:
            total = prune_tables(db, cutoff, signer)
    for kind, where in [] if isinstance(path, str) else find_logs(path):
        if kind == "sqlite":
            db = connect(where)
            try:
                total += prune_database(db, cutoff, signer)
            finally:
                db.close()
        elif where.parent.name != "spool":  # the api spool is pruned as it is delivered
            total += prune_directory(where, cutoff, signer)
    click.echo(f"pruned {total} record(s) older than {retention_days:g} day(s); anchors keep the chains verifiable")


def _audit_block(config_path: str) -> Any:
    """The operator's audit-logger block (None when the config has none)."""
    from keeptrust.config.loader import load_config
    from keeptrust.errors import ConfigError
    from keeptrust.plugins import load_registry

    try:
        loaded = load_config(config_path, load_registry())
    except ConfigError as exc:
        click.echo(f"error: {config_path} is not valid:\n{exc}", err=True)
        sys.exit(1)
    return loaded.policies.get("audit-logger")


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(audit)


# Plugins add sub-commands to `kt audit` (keeptrust-console adds `serve`) with these.
__all__ = ["LOCATION", "audit", "operator_expectations"]
