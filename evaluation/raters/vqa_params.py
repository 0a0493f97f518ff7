"""Turning a rater's JSON parameters into a typed settings dataclass, with clear errors."""

from __future__ import annotations

from dataclasses import MISSING, asdict, fields
from typing import Any, TypeVar

Settings = TypeVar("Settings")

_TYPES = {"int": int, "float": float, "str": str}


def settings_from_params(cls: type[Settings], params: Any, what: str) -> Settings:
    """Build `cls` from `params`: unknown names, missing required names and values of the
    wrong type are refused with a ValueError naming the parameter."""
    if not isinstance(params, dict):
        raise ValueError(f"{what} parameters must be a JSON object")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} parameters: {', '.join(unknown)}")
    missing = [
        name for name, f in known.items() if f.default is MISSING and params.get(name) in (None, "")
    ]
    if missing:
        raise ValueError(f"the {what} rater needs {' and '.join(missing)}")
    values = {}
    for name, value in params.items():
        values[name] = _coerce(name, value, str(known[name].type))
    return cls(**values)


def settings_as_params(settings: Any) -> dict[str, Any]:
    """Every parameter with its default filled in: the stored, hashed configuration."""
    return asdict(settings)


def _coerce(name: str, value: Any, annotation: str) -> Any:
    if value is None and "None" in annotation:
        return None
    kind = _TYPES[annotation.split("|")[0].strip()]
    if isinstance(value, bool) or (kind is str) != isinstance(value, str):
        raise ValueError(f"{name} must be a {'string' if kind is str else 'number'}")
    if kind is int and float(value) != int(value):
        raise ValueError(f"{name} must be a whole number")
    return kind(value)
