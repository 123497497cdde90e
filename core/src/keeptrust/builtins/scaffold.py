"""``kt plugin new``: start a plugin package from the cookiecutter template.

The template's one copy is ``cookiecutter-plugin/`` at the root of the repository, so that
``cookiecutter cookiecutter-plugin`` works from a checkout. ``keeptrust/plugin_template`` is a
symlink to it: hatchling follows symlinks, so the wheel (and the sdist) carry the template as
package data, and an installed keeptrust finds it next to this module. A checkout where symlinks
did not survive (git on Windows without symlink support) falls back to the repository copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from keeptrust import __version__
from keeptrust.hookspecs import hookimpl

KINDS = ("policy", "backend", "provider", "audit-sink")
# The same rule as the template's pre-generation hook: the name is written in policy-config.yaml
# and becomes the distribution keeptrust-<name> and the module keeptrust_<name>.
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def find_template() -> Path | None:
    """The template directory shipped with keeptrust, or ``None`` if this install has none."""
    package = Path(__file__).resolve().parent.parent
    candidates = [package / "plugin_template"]
    # src/keeptrust -> src -> core -> repository root
    candidates += [parent / "cookiecutter-plugin" for parent in package.parents[:3]]
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    return None


def normalise_name(name: str) -> str:
    """``"Word Filter"`` and ``"word_filter"`` both become ``"word-filter"``, the registered name."""
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def keeptrust_requirement(version: str = __version__) -> str:
    """The versions a new plugin declares: this release's minor series, since the plugin API may
    change between 0.x minor releases (and between majors after 1.0)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:  # a source tree that was never installed
        return ">=0.1,<0.2"
    major, minor = int(match[1]), int(match[2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def render(
    name: str,
    kind: str,
    output_dir: Path,
    *,
    template: Path | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Render the template and return the new package's directory. Raises ``click.ClickException``
    with the fix when cookiecutter is missing, the name is unusable or the directory exists."""
    try:
        from cookiecutter.exceptions import CookiecutterException, OutputDirExistsException
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise click.ClickException("`kt plugin new` needs cookiecutter: pip install cookiecutter") from None
    slug = normalise_name(name)
    if not _NAME.fullmatch(slug):
        raise click.ClickException(
            f"the plugin name {name!r} must be words of letters and digits (e.g. 'word filter'); "
            "it becomes the registered name, the distribution keeptrust-<name> and the module keeptrust_<name>"
        )
    source = template or find_template()
    if source is None:
        raise click.ClickException(
            "this keeptrust install has no plugin template; pass --template PATH/TO/cookiecutter-plugin"
        )
    context = {"plugin_name": slug, "kind": kind, "keeptrust_requirement": keeptrust_requirement(), **(extra or {})}
    try:
        made = cookiecutter(str(source), no_input=True, extra_context=context, output_dir=str(output_dir))
    except OutputDirExistsException:
        raise click.ClickException(f"{output_dir / ('keeptrust-' + slug)} already exists") from None
    except CookiecutterException as exc:
        raise click.ClickException(f"the template failed: {exc}") from None
    return Path(made)


@click.group("plugin")
def plugin_group() -> None:
    """Write your own plugins."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), default="policy", show_default=True, help="What the plugin adds.")
@click.option("--description", default=None, help="One line for the package metadata and README.")
@click.option("--author", "author_name", default=None, help="Author name for pyproject.toml.")
@click.option("--email", "author_email", default=None, help="Author e-mail for pyproject.toml.")
@click.option("--github-username", default=None, help="For the project URL.")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package directory.",
)
@click.option(
    "--template",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Another copy of cookiecutter-plugin (default: the one shipped with keeptrust).",
)
def plugin_new(name: str, kind: str, output_dir: Path, template: Path | None, **options: Any) -> None:
    """Create the package keeptrust-NAME: a working example plugin of --kind, with tests, README,
    ruff config and a CI workflow. NAME is also what it registers (e.g. the policy name)."""
    extra = {key: value for key, value in options.items() if value is not None}
    path = render(name, kind, output_dir, template=template, extra=extra)
    click.echo(f"created {path}")
    click.echo("next:")
    click.echo(f"  cd {path}")
    click.echo("  pip install -e '.[test]'")
    click.echo("  kt plugins list      # shows the new plugin and where it came from")
    click.echo("  python -m pytest     # its tests start a real gateway on loopback")


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(plugin_group)
