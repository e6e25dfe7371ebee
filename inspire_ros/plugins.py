"""User plug-ins named as ``package.module:ClassName`` in the config."""

from __future__ import annotations

import importlib

from .config import ConfigError


def load_plugin(spec: str, key: str, interface: type) -> type:
    if ":" not in spec:
        raise ConfigError(f"config key '{key}': unknown type {spec!r} (a built-in name or 'package.module:Class')")
    module_name, _, attr = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"config key '{key}': cannot import {spec!r}: {e}") from e
    missing = [m for m in getattr(interface, "__protocol_attrs__", ()) if not hasattr(cls, m)]
    if missing:
        raise ConfigError(f"config key '{key}': {spec} lacks {', '.join(sorted(missing))} of {interface.__name__}")
    return cls
