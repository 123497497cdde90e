"""``kt audit serve PATH|URL``: the console on loopback (or behind a credential anywhere else)."""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from keeptrust.builtins.audit_commands import LOCATION, operator_expectations

DEFAULT_LISTEN = "127.0.0.1:41090"


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {listen!r}", param_hint="--listen")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.argument("path", type=LOCATION)
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, help="HOST:PORT to serve the console on.")
@click.option(
    "--auth-env",
    metavar="NAME",
    help="Environment variable holding USER:PASSWORD (HTTP basic auth) or a KEY (Authorization: Bearer KEY, "
    "or basic auth with KEY as the password). Required to listen anywhere but loopback.",
)
@click.option(
    "--policy-config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Verify with what this config's audit-logger block promises (immutable, signing_key_ref).",
)
@click.option("--key-env", "key_envs", multiple=True, metavar="NAME[:KEY_ID]", help="As for kt audit verify.")
@click.option("--allow-missing-head", is_flag=True, help="Accept a chain whose durable head is missing (a warning).")
@click.option("--not-hash-chained", is_flag=True, help="The log was written with immutable: false.")
def serve(
    path: Any,
    listen: str,
    auth_env: str | None,
    config_path: str | None,
    key_envs: tuple[str, ...],
    allow_missing_head: bool,
    not_hash_chained: bool,
) -> None:
    """Serve a read-only web console over the audit log at PATH|URL: overview (requests over time,
    outcomes, top targets and roles, decisions, chain state), records with filters, detail, export.

    PATH is an audit directory, a chain directory or a SQLite file; URL a database an installed sink
    reads (``postgresql://user@host/db#schema`` with keeptrust-postgres)."""
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    from keeptrust_console.app import ConsoleApp, Credential
    from keeptrust_console.index import Source

    host, port = _split_listen(listen)
    credential = None
    if auth_env is not None:
        secret = os.environ.get(auth_env)
        if not secret or len(secret) < 12:
            click.echo(
                f"error: environment variable {auth_env} must hold a credential of 12 or more characters", err=True
            )
            sys.exit(2)
        credential = Credential(secret)
    elif not is_loopback(host):
        click.echo(
            f"error: listening on {host} exposes the audit log beyond this machine: give --auth-env NAME "
            "(basic auth or a bearer key from the environment), or listen on 127.0.0.1",
            err=True,
        )
        sys.exit(2)

    expect = operator_expectations(config_path, key_envs, allow_missing_head, not_hash_chained)
    source = Source(path if isinstance(path, str) else Path(path), expect)
    app = ConsoleApp(source, credential)
    started = time.monotonic()
    click.echo(f"indexing {source.describe()} ...", err=True)
    try:
        app.prepare()
    except Exception as exc:  # an unreachable database, an unknown URL scheme: say so and stop
        click.echo(f"error: cannot read {source.describe()}: {exc}", err=True)
        sys.exit(2)
    with app.index.reading() as db:
        indexed = db.execute("SELECT COUNT(*) FROM rec").fetchone()[0]
    click.echo(f"indexed {indexed} record(s) in {time.monotonic() - started:.1f}s", err=True)

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    click.echo(f"keeptrust audit console on http://{listen} (read-only; Ctrl-C stops)", err=True)
    trio.run(hypercorn_serve, app, config)
