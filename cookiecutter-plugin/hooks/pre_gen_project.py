"""Refuse a plugin name that cannot become a Python module before any file is written."""

import re
import sys

NAME = "{{ cookiecutter.__name }}"
MODULE = "{{ cookiecutter.__module }}"

# The name is also what operators write in policy-config.yaml, so keep it to plain words.
if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", NAME) or not MODULE.isidentifier():
    sys.stderr.write(
        f"error: the plugin name {NAME!r} must be lower-case words of letters and digits separated "
        "by spaces, '-' or '_' (e.g. 'word filter')\n"
    )
    sys.exit(1)
