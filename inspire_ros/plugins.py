"""User plug-ins named as ``package.module:ClassName`` in the config."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .config import ConfigError


def protocol_members(interface: type) -> tuple[list[str], list[str]]:
    """(methods, attributes) a Protocol asks for. Python 3.11 has no `__protocol_attrs__`, so
    read the class body: functions are methods, annotations are attributes."""
    methods, attributes = [], []
    for klass in interface.__mro__:
        if klass in (object,) or klass.__name__ in ("Protocol", "Generic"):
            continue
        methods += [n for n, v in vars(klass).items() if inspect.isfunction(v) and not n.startswith("_")]
        attributes += [n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_")]
    return sorted(set(methods)), sorted(set(attributes))


def load_plugin(spec: str, key: str, interface: type) -> type:
    """The plug-in class; its methods are checked against `interface` here, its attributes once
    it is built (`build_plugin`): a plug-in may set them in its constructor."""
    if ":" not in spec:
        raise ConfigError(f"config key '{key}': unknown type {spec!r} (a built-in name or 'package.module:Class')")
    module_name, _, attr = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"config key '{key}': cannot import {spec!r}: {e}") from e
    methods, _ = protocol_members(interface)
    missing = [m for m in methods if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigError(f"config key '{key}': {spec} lacks {', '.join(missing)} of {interface.__name__}")
    return cls


def build_plugin(spec: str, key: str, interface: type, *args: Any) -> Any:
    """Import, construct with `args` and check a plug-in against its block protocol."""
    obj = load_plugin(spec, key, interface)(*args)
    _, attributes = protocol_members(interface)
    missing = [a for a in attributes if not hasattr(obj, a)]
    if missing:
        raise ConfigError(f"config key '{key}': {spec} lacks {', '.join(missing)} of {interface.__name__}")
    return obj
