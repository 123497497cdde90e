"""Operations beyond the OpenAI families, declared by the plugins that serve them (keeptrust-hf's
Hugging Face task API): where their texts are, so that every policy reads (and rewrites) them
through ``request_texts``/``response_texts`` like the built-in ones. Locators are pure functions of
a body, so one table per process is safe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keeptrust.texts.refs import TextRef

TextLocator = Callable[[Any], list[TextRef]]

_DECLARED: dict[str, tuple[TextLocator, TextLocator]] = {}


def register_operation_texts(operation: str, request: TextLocator, response: TextLocator) -> None:
    """Declare where the texts of a plugin-defined ``operation`` are: ``request(body)`` and
    ``response(body)`` return its ``TextRef``s. Re-declaring an operation with other locators is an
    error (two plugins would disagree); a built-in operation cannot be declared."""
    from keeptrust.context import OPERATIONS

    if operation in OPERATIONS:
        raise ValueError(f"operation '{operation}' is built in; its texts cannot be redeclared")
    known = _DECLARED.get(operation)
    if known is not None and known != (request, response):
        raise ValueError(f"the texts of operation '{operation}' are already declared by another plugin")
    _DECLARED[operation] = (request, response)


def declared(operation: str) -> tuple[TextLocator, TextLocator] | None:
    """The locators a plugin declared for ``operation``, if any."""
    return _DECLARED.get(operation)


__all__ = ["TextLocator", "declared", "register_operation_texts"]
