"""cattrs structuring with error messages that name the field path and what was expected.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from keeptrust.errors import ConfigError

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


class _Expected(ValueError):
    def __init__(self, expected: str, got: Any) -> None:
        super().__init__(f"expected {expected}; got {_show(got)}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _strict_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    # YAML reads `version: 1.0` as a float; a number written where text is expected is still text.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Expected("a string", value)


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Expected("an integer", value)


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _Expected("a number", value)


def _strict_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise _Expected("true or false", value)


_NONE = type(None)


def _is_multi_union(t: Any) -> bool:
    if typing.get_origin(t) not in (typing.Union, types.UnionType):
        return False
    return len([m for m in typing.get_args(t) if m is not _NONE]) > 1


def _describe(t: Any) -> str:
    if t in _TYPE_NAMES:
        return _TYPE_NAMES[t]
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        return "a list"
    if origin is dict or attrs.has(t):
        return "a mapping"
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(t))
    return getattr(t, "__name__", str(t))


def _matches(value: Any, t: Any) -> bool:
    if t is Any:
        return True
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is str:
        return isinstance(value, str)
    origin = typing.get_origin(t)
    if origin in (list, tuple):
        return isinstance(value, list)
    if origin is dict or attrs.has(t):
        return isinstance(value, dict)
    if origin is typing.Literal:
        return value in typing.get_args(t)
    return False


def make_converter() -> cattrs.Converter:
    """A converter that refuses unknown keys and silent coercions (``"no"`` is not ``True``)."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)

    def union_factory(t: Any) -> Any:
        args = typing.get_args(t)
        members = [m for m in args if m is not _NONE]
        optional = _NONE in args

        def hook(value: Any, _: Any) -> Any:
            if value is None and optional:
                return None
            for member in members:
                if _matches(value, member):
                    return conv.structure(value, member)
            raise _Expected(" or ".join(_describe(m) for m in members), value)

        return hook

    conv.register_structure_hook_factory(_is_multi_union, union_factory)
    return conv


_DEFAULT_CONVERTER = make_converter()


def structure(data: Any, cls: type[T], path: str, converter: cattrs.Converter | None = None) -> T:
    """Structure ``data`` into ``cls``; on failure raise ``ConfigError`` with one line per problem,
    each starting with the dotted path below ``path``."""
    conv = converter or _DEFAULT_CONVERTER
    if data is None:
        data = {}
    if attrs.has(cls) and not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping; got {_show(data)}"])
    try:
        return conv.structure(data, cls)
    except Exception as exc:  # every structuring failure becomes a config error
        raise ConfigError(list(_messages(exc, path, cls, data))) from None


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _messages(exc: BaseException, path: str, cls: Any, data: Any) -> typing.Iterator[str]:
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            name = note.name
            field_type = note.type
            sub_data = data.get(name) if isinstance(data, dict) else None
            yield from _messages(sub, _join(path, name), field_type, sub_data)
        for sub in without:
            yield from _messages(sub, path, exc.cl, data)
        return
    if isinstance(exc, IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            index = note.index
            sub_data = None
            if isinstance(data, (list, tuple)) and isinstance(index, int) and index < len(data):
                sub_data = data[index]
            elif isinstance(data, dict):
                sub_data = data.get(index)
            yield from _messages(sub, _join(path, index), note.type, sub_data)
        for sub in without:
            yield from _messages(sub, path, cls, data)
        return
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        for key in sorted(exc.extra_fields):
            hint = difflib.get_close_matches(key, known, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else f" (known: {', '.join(known)})"
            yield f"{_join(path, key)}: unknown key{extra}"
        return
    if isinstance(exc, KeyError):
        yield f"{path}: required key missing"
        return
    if isinstance(exc, _Expected):
        yield f"{path}: {exc}"
        return
    origin = typing.get_origin(cls)
    if origin is typing.Literal:
        choices = ", ".join(str(c) for c in typing.get_args(cls))
        yield f"{path}: expected one of {choices}; got {_show(data)}"
        return
    if attrs.has(cls) and not isinstance(data, dict):
        yield f"{path}: expected a mapping; got {_show(data)}"
        return
    if origin in (list, tuple) and not isinstance(data, (list, tuple)):
        yield f"{path}: expected a list; got {_show(data)}"
        return
    if origin is dict and not isinstance(data, dict):
        yield f"{path}: expected a mapping; got {_show(data)}"
        return
    if isinstance(exc, (ValueError, TypeError)) and str(exc):
        yield f"{path}: {exc}"
        return
    yield f"{path}: invalid value {_show(data)}"


__all__ = [
    "make_converter",
    "structure",
]
