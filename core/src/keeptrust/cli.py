"""The ``kt`` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from keeptrust import __version__
from keeptrust.errors import ConfigError, PluginError


def _registry(disable: tuple[str, ...] = ()) -> Any:
    from keeptrust.plugins import load_registry

    env_disabled = [p for p in os.environ.get("KEEPTRUST_DISABLE_PLUGINS", "").split(",") if p.strip()]
    return load_registry(disable=[*disable, *env_disabled])


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(__version__, prog_name="kt")
def cli() -> None:
    """keeptrust: an AI governance gateway for Hugging Face models."""


@cli.group()
def gateway() -> None:
    """Run the gateway."""


@gateway.command("run")
@click.option("--listen", default="127.0.0.1:41002", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--policy-config", "config_path", required=True, type=click.Path(dir_okay=False), help="policy-config.yaml"
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--disable-plugin", multiple=True, help="Skip a plugin by name (repeatable).")
@click.option("--log-level", default=None, help="debug, info, warning or error (default: server.log_level).")
@click.option(
    "--log-format",
    default=None,
    type=click.Choice(["human", "json"]),
    help="human lines, or one JSON object per line (default: server.log_format, else human).",
)
@click.option(
    "--pid-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the gateway's process id here (removed at exit), for kt gateway reload.",
)
def gateway_run(
    listen: str,
    config_path: str,
    workers: int,
    disable_plugin: tuple[str, ...],
    log_level: str | None,
    log_format: str | None,
    pid_file: str | None,
) -> None:
    """Start the gateway with a policy config."""
    from keeptrust.secrets import Redactor
    from keeptrust.server import run as runner

    redactor = Redactor()
    runner.setup_logging(log_level or "info", redactor, log_format or "human")
    if disable_plugin:
        os.environ["KEEPTRUST_DISABLE_PLUGINS"] = ",".join(
            [*disable_plugin, *[p for p in os.environ.get("KEEPTRUST_DISABLE_PLUGINS", "").split(",") if p]]
        )
    try:
        registry = _registry(disable_plugin)
        app = runner.make_app(config_path, registry=registry, redactor=redactor)
    except (ConfigError, PluginError) as exc:
        _fail(f"the gateway cannot start:\n{exc}")
        return
    level = log_level or app.gateway.server.log_level
    fmt = log_format or app.gateway.server.log_format
    runner.setup_logging(level, redactor, fmt)
    os.environ[runner.LEVEL_ENV] = level
    os.environ[runner.FORMAT_ENV] = fmt
    loaded = app.gateway.loaded
    runner.logger.info(
        "pack %s %s: %d target(s), chain [%s], listening on %s",
        loaded.gateway.pack.name,
        loaded.gateway.pack.version,
        len(loaded.targets),
        ", ".join(loaded.chain),
        listen,
    )
    if pid_file:
        Path(pid_file).write_text(f"{os.getpid()}\n")
    try:
        runner.run(listen, app, workers=workers, config_path=config_path)
    finally:
        if pid_file:
            Path(pid_file).unlink(missing_ok=True)


@gateway.command("reload")
@click.option(
    "--pid-file",
    default=None,
    type=click.Path(dir_okay=False),
    help="The --pid-file the gateway was started with.",
)
@click.option("--pid", default=None, type=int, help="The gateway's process id (instead of --pid-file).")
def gateway_reload(pid_file: str | None, pid: int | None) -> None:
    """Make a running gateway reload its policy config (sends it SIGHUP).

    The file is validated in full first; if it is invalid the gateway keeps its config and logs
    every error. New requests use the new config; requests in flight finish on the old one."""
    import signal

    if pid is None:
        if pid_file is None:
            _fail("give --pid-file (as passed to kt gateway run --pid-file) or --pid")
            return
        try:
            pid = int(Path(pid_file).read_text().strip())
        except (OSError, ValueError) as exc:
            _fail(f"cannot read a process id from {pid_file}: {exc}")
            return
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        _fail(f"no gateway process {pid} (stale pid file?)")
        return
    except PermissionError:
        _fail(f"not allowed to signal process {pid}")
        return
    click.echo(f"sent SIGHUP to gateway process {pid}; its log says whether the new config was taken")


@cli.group()
def config() -> None:
    """Check policy configs."""


@config.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--disable-plugin", multiple=True)
@click.option(
    "--check-secrets",
    is_flag=True,
    help="Also require what a deployment's environment supplies (secret_key_ref variables, the audit "
    "collector URL), as kt gateway run does.",
)
def config_validate(paths: tuple[str, ...], disable_plugin: tuple[str, ...], check_secrets: bool) -> None:
    """Validate one or more policy-config files."""
    from keeptrust.config.loader import load_config
    from keeptrust.server.gateway import check_start_up
    from keeptrust.targets import resolve_secrets

    try:
        registry = _registry(disable_plugin)
    except PluginError as exc:
        _fail(str(exc))
        return
    failed = False
    for path in paths:
        try:
            loaded = load_config(path, registry)
            missing: list[str] = []
            try:
                resolve_secrets(loaded)
            except ConfigError as exc:
                missing = exc.errors
            if missing and check_secrets:
                raise ConfigError(missing)
            # Every check `kt gateway run` runs at start-up (plugin detectors, sinks, entities...).
            unset = check_start_up(loaded, registry, require_environment=check_secrets)
            missing += [
                f"environment variable {name} is not set (kt gateway run needs it)"
                for name in unset
                if not any(name in line for line in missing)
            ]
            click.echo(
                f"{path}: OK (pack {loaded.gateway.pack.name} {loaded.gateway.pack.version}, "
                f"{len(loaded.targets)} target(s), chain: {', '.join(loaded.chain) or 'empty'})"
            )
            for line in [*missing, *loaded.warnings]:
                click.echo(f"  warning: {line}")
        except ConfigError as exc:
            failed = True
            click.echo(f"{path}: INVALID", err=True)
            for line in exc.errors:
                click.echo(f"  {line}", err=True)
        except PluginError as exc:
            failed = True
            click.echo(f"{path}: INVALID", err=True)
            click.echo(f"  {exc}", err=True)
    sys.exit(1 if failed else 0)


@cli.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--disable-plugin", multiple=True)
def plugins_list(as_json: bool, disable_plugin: tuple[str, ...]) -> None:
    """Show each plugin, where it came from and what it registered."""
    from keeptrust.plugins import describe_extension_hooks

    try:
        registry = _registry(disable_plugin)
    except PluginError as exc:
        _fail(str(exc))
        return
    describe_extension_hooks(registry)
    rows = []
    for info in registry.plugins.values():
        rows.append(
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "module": info.module,
                "path": info.path,
                "builtin": info.builtin,
                "registered": info.registered,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        kind = "built-in" if row["builtin"] else "plugin"
        click.echo(f"{row['name']} ({kind}): {row['distribution']} {row['version']}  [{row['module']}]")
        click.echo(f"    path: {row['path']}")
        for what, names in sorted(row["registered"].items()):
            click.echo(f"    {what}: {', '.join(names)}")


@cli.group()
def demo() -> None:
    """The local demo upstream."""


@demo.command("upstream")
@click.option("--listen", default="127.0.0.1:41003", show_default=True)
@click.option("--reply", default=None, help="Answer this text instead of echoing.")
def demo_upstream(listen: str, reply: str | None) -> None:
    """Serve an OpenAI-compatible echo model (no token, no network)."""
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    from keeptrust.demo import FakeOpenAI

    config = Config()
    config.bind = [listen]
    config.accesslog = None
    click.echo(f"demo upstream on http://{listen}/v1", err=True)
    trio.run(serve, FakeOpenAI(reply=reply, chunk_delay=0.02), config)


def _add_plugin_commands() -> None:
    """Let each plugin add its sub-commands. A plugin that fails costs a warning naming it, never `kt`."""
    import importlib

    from keeptrust.plugins import DEFAULT_PLUGINS, make_plugin_manager

    try:
        pm, infos = make_plugin_manager()
        plugins = [(pm.get_name(p) or "?", p) for p in pm.get_plugins()]
    except PluginError as exc:
        # Commands from plugins are unavailable, but the built-ins' (`kt plugin new`, `kt audit`) stay,
        # `kt plugins list` and friends still run and `kt gateway run` reports the failure itself.
        click.echo(f"warning: {exc}", err=True)
        infos = {}
        plugins = [(name.rsplit(".", 1)[1], importlib.import_module(name)) for name in DEFAULT_PLUGINS]
    for name, plugin in plugins:
        impl = getattr(plugin, "register_commands", None)
        if impl is None:
            continue
        try:
            impl(cli=cli)
        except Exception as exc:  # a third-party bug; reported like a start-up hook failure
            dist = infos[name].distribution if name in infos else "keeptrust"
            click.echo(
                f"warning: plugin '{name}' (distribution {dist}) failed in register_commands: "
                f"{type(exc).__name__}: {exc}",
                err=True,
            )


def main() -> None:
    _add_plugin_commands()
    cli()


if __name__ == "__main__":
    main()
