"""``kt audit verify|tail|query|prune``: read, prove and prune what the audit-logger wrote.

PATH is an audit directory (``./keeptrust-audit``: every chain in it, the SQLite database and the
api spool), one chain directory, or a SQLite database file.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from keeptrust.hookspecs import hookimpl

_PATH_ARG = click.Path(exists=True, path_type=Path)


@click.group()
def audit() -> None:
    """Verify, read and prune audit logs."""


@audit.command("verify")
@click.argument("path", type=_PATH_ARG)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def verify(path: Path, as_json: bool) -> None:
    """Check every chain under PATH; exit 1 at the first broken record, naming it and why."""
    from keeptrust.audit.verify import summary_lines, verify_path

    reports = verify_path(path)
    failed = [r for r in reports if not r.ok]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "chain": r.chain,
                        "where": r.where,
                        "ok": r.ok,
                        "records": r.records,
                        "first_seq": r.first_seq,
                        "last_seq": r.last_seq,
                        "problem": r.problem,
                        "warnings": r.warnings,
                        "notes": r.notes,
                    }
                    for r in reports
                ],
                indent=2,
            )
        )
    else:
        for line in summary_lines(reports):
            click.echo(line)
        if not reports:
            click.echo(f"FAIL: no audit log found under {path}")
        elif failed:
            click.echo(f"FAIL: {len(failed)} of {len(reports)} chain(s) broken")
        else:
            click.echo(f"OK: {len(reports)} chain(s), {sum(r.records for r in reports)} record(s) verified")
    sys.exit(1 if failed or not reports else 0)


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


def _summary(record: dict[str, Any]) -> str:
    if record.get("type") not in ("request", "access"):
        return f"{record.get('ts')}  {record.get('type'):<8} chain={record.get('chain')} seq={record.get('seq')}"
    latency = record.get("latency_ms")
    return (
        f"{record.get('ts')}  {record.get('type'):<8} {record.get('status')!s:>3}  {record.get('endpoint')}  "
        f"model={record.get('model')} target={record.get('target')} role={record.get('role')} "
        f"latency={latency}ms id={record.get('request_id')}"
    )


def _emit(records: list[dict[str, Any]], as_json: bool) -> None:
    for record in records:
        click.echo(json.dumps(record, ensure_ascii=False) if as_json else _summary(record))


@audit.command("tail")
@click.argument("path", type=_PATH_ARG)
@click.option("-n", "--lines", "count", default=20, show_default=True, help="How many of the newest records.")
@click.option("--json", "as_json", is_flag=True, help="Whole records, one JSON object a line.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records as they arrive.")
@_filter_options
def tail(path: Path, count: int, as_json: bool, follow: bool, **filters: Any) -> None:
    """Show the newest records."""
    from keeptrust.audit.query import read_records

    flt = _make_filter(filters)
    records = read_records(path, flt, limit=count, newest=True)
    _emit(records, as_json)
    seen = {(r.get("chain"), r.get("seq")) for r in records}
    while follow:
        time.sleep(1.0)
        fresh = [
            r
            for r in read_records(path, flt, limit=max(count, 1000), newest=True)
            if (r.get("chain"), r.get("seq")) not in seen
        ]
        seen.update((r.get("chain"), r.get("seq")) for r in fresh)
        _emit(fresh, as_json)


@audit.command("query")
@click.argument("path", type=_PATH_ARG)
@click.option("--limit", type=int, default=None, help="At most this many records (oldest first).")
@click.option("--json/--summary", "as_json", default=True, show_default=True)
@_filter_options
def query(path: Path, limit: int | None, as_json: bool, **filters: Any) -> None:
    """Print the records matching every filter given, oldest first."""
    from keeptrust.audit.query import read_records

    _emit(read_records(path, _make_filter(filters), limit=limit), as_json)


def _make_filter(filters: dict[str, Any]) -> Any:
    from keeptrust.audit.query import Filter

    filters["type"] = filters.pop("type_", None)
    return Filter(**filters)


@audit.command("prune")
@click.argument("path", type=_PATH_ARG)
@click.option("--retention-days", type=float, default=None, help="Prune segments older than this.")
@click.option(
    "--policy-config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Take retention_days from this config's audit-logger block.",
)
def prune(path: Path, retention_days: float | None, config_path: str | None) -> None:
    """Remove whole segments (or SQLite rows) older than the retention, behind a verifiable anchor."""
    from keeptrust.audit.prune import prune_directory
    from keeptrust.audit.sqlite_sink import connect, prune_database
    from keeptrust.audit.verify import find_logs

    if retention_days is None and config_path is not None:
        retention_days = _retention_from_config(config_path)
    if retention_days is None:
        click.echo("error: give --retention-days, or --policy-config with audit-logger.retention_days", err=True)
        sys.exit(2)
    cutoff = time.time() - retention_days * 86400
    total = 0
    for kind, where in find_logs(path):
        if kind == "sqlite":
            db = connect(where)
            try:
                total += prune_database(db, cutoff)
            finally:
                db.close()
        elif where.parent.name != "spool":  # the api spool is pruned as it is delivered
            total += prune_directory(where, cutoff)
    click.echo(f"pruned {total} record(s) older than {retention_days:g} day(s); anchors keep the chains verifiable")


def _retention_from_config(config_path: str) -> float | None:
    from keeptrust.config.loader import load_config
    from keeptrust.errors import ConfigError
    from keeptrust.plugins import load_registry

    try:
        loaded = load_config(config_path, load_registry())
    except ConfigError as exc:
        click.echo(f"error: {config_path} is not valid:\n{exc}", err=True)
        sys.exit(1)
    block = loaded.policies.get("audit-logger")
    return None if block is None else block.retention_days


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(audit)
