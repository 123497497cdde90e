"""How to install a keeptrust distribution, said the way that works for this installation.

Error messages that name a missing package (a policy in the chain that is not installed, a Hugging
Face backend that lives in its own package) end with ``install_command(...)``. Where the core was
installed from a source checkout (``pip install -e ./core``, as ``scripts/bootstrap`` does), the
command names the plugin's folder in that checkout, which works with no package index; elsewhere it
is ``pip install NAME``, which works from PyPI or from a wheelhouse (``PIP_FIND_LINKS=dist``, built by
``scripts/build-wheels``).

Public module: plugins name their own missing pieces with ``install_command``.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from importlib_metadata import PackageNotFoundError, distribution

__all__ = ["checkout_folder", "install_command"]


def _core_source() -> tuple[Path, bool] | None:
    """(the folder ``keeptrust`` was installed from, editable?) per PEP 610's ``direct_url.json``."""
    try:
        raw = distribution("keeptrust").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    url = urlparse(str(info.get("url", "")))
    if url.scheme != "file" or "dir_info" not in info:
        return None
    return Path(unquote(url.path)), bool(info["dir_info"].get("editable"))


def checkout_folder(dist: str) -> Path | None:
    """The folder of distribution ``dist`` in the checkout the core was installed from, if any."""
    source = _core_source()
    if source is None:
        return None
    root = source[0].parent  # the core lives in <checkout>/core
    folder = root / "core" if dist == "keeptrust" else root / "plugins" / dist.replace("-", "_")
    return folder if (folder / "pyproject.toml").is_file() else None


def _shown(path: Path) -> str:
    try:
        relative = Path(os.path.relpath(path))
    except ValueError:  # another drive (Windows)
        return str(path)
    text = str(path) if relative.parts[:1] == ("..",) else f"./{relative}" if relative != Path(".") else "."
    return shlex.quote(text)


def install_command(*dists: str) -> str:
    """The command that installs ``dists`` beside this keeptrust, e.g. ``pip install keeptrust-hf``."""
    folders = [checkout_folder(d) for d in dists]
    source = _core_source()
    if source is not None and dists and all(folders):
        editable = ["-e"] if source[1] else []
        python = _shown(Path(sys.executable))
        args = [arg for folder in folders if folder for arg in (*editable, _shown(folder))]
        return f"{python} -m pip install {' '.join(args)}"
    return "pip install " + " ".join(dists)
