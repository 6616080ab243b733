"""One typed overlay of parsed YAML/JSON onto frozen dataclasses, driven by their type hints.

A mapping names only the fields it changes (a field's ``metadata["key"]`` renames
it in files); numbers, integers, strings, nested dataclasses and read-only
mappings of dataclasses are converted by their annotation, and the dataclass's
own ``__post_init__`` then checks the values together.  Every error says where.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, is_dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
R = TypeVar("R")


class ParameterError(ValueError):
    pass


def _keys(cls: type[DataclassInstance]) -> dict[str, str]:
    """{key in a file: field name}."""
    return {f.metadata.get("key", f.name): f.name for f in fields(cls)}


def _mapping(where: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ParameterError(f"{where} must be a mapping, not {value!r}")
    return value


def _convert(hint: Any, current: Any, value: Any, where: str) -> Any:
    if isinstance(hint, type) and is_dataclass(hint):
        return overlay(current, value, where) if current is not None else build(hint, value, where)
    if typing.get_origin(hint) is Mapping:
        _, item = typing.get_args(hint)
        entries = dict(current or {})
        for name, spec in _mapping(where, value).items():
            entries[name] = _convert(item, entries.get(name), spec, f"{where}.{name}")
        return MappingProxyType(entries)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ParameterError(f"{where} must be a finite number, not {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{where} must be an integer, not {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ParameterError(f"{where} must be a string, not {value!r}")
        return value
    raise TypeError(f"no conversion for {hint!r} at {where}")


def _changes(cls: type[DataclassInstance], base: object, data: Any, where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    keys = _keys(cls)
    changes: dict[str, Any] = {}
    for key, value in _mapping(where or "the file", data).items():
        name = keys.get(key)
        if name is None:
            known = ", ".join(sorted(keys))
            raise ParameterError(f"unknown key {where + '.' if where else ''}{key} (known: {known})")
        current = getattr(base, name) if base is not None else None
        changes[name] = _convert(hints[name], current, value, f"{where}.{key}" if where else str(key))
    return changes


def _checked(make: Callable[[], R], where: str) -> R:
    try:
        return make()
    except ValueError as exc:  # a dataclass refusing its values in __post_init__
        raise ParameterError(f"{where}: {exc}" if where else str(exc)) from None


def overlay(base: T, data: Any, where: str = "") -> T:
    """``base`` with the fields ``data`` names replaced, converted and checked."""
    changes = _changes(type(base), base, data, where)
    return _checked(lambda: replace(base, **changes), where)


def build(cls: type[T], data: Any, where: str = "") -> T:
    """A new ``cls`` from ``data``, which must name every field without a default."""
    values = _changes(cls, None, data, where)
    missing = [
        f.metadata.get("key", f.name)
        for f in fields(cls)
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ParameterError(f"{where} needs {', '.join(missing)}")
    return _checked(lambda: cls(**values), where)
