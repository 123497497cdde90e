"""The hook implementations keeptrust calls at start-up (entry point group ``keeptrust``).

Hooks only register classes; keeptrust builds the objects from ``policy-config.yaml`` and calls
their methods per request. pluggy never awaits, so hook implementations are plain functions.
"""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl
{% if cookiecutter.kind == "policy" %}
from {{ cookiecutter.__module }}.policy import {{ cookiecutter.__class }}Policy


@hookimpl
def register_policies(register: Callable[[type], None]) -> None:
    register({{ cookiecutter.__class }}Policy)
{%- elif cookiecutter.kind == "backend" %}
from {{ cookiecutter.__module }}.backend import {{ cookiecutter.__class }}Backend


# A hook keeptrust-hf adds (keeptrust_hf.hookspecs): it runs when the first huggingface target is built.
@hookimpl
def register_hf_backends(register: Callable[[type], None]) -> None:
    register({{ cookiecutter.__class }}Backend)
{%- elif cookiecutter.kind == "provider" %}
from {{ cookiecutter.__module }}.provider import {{ cookiecutter.__class }}Provider


@hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    register({{ cookiecutter.__class }}Provider)
{%- else %}
from {{ cookiecutter.__module }}.sink import {{ cookiecutter.__class }}Sink


@hookimpl
def register_audit_sinks(register: Callable[[type], None]) -> None:
    register({{ cookiecutter.__class }}Sink)
{%- endif %}
