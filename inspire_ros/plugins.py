"""Blocks named in the config: the built-in ones by name, user plug-ins as ``package.module:Name``.

Both are resolved the same way (`resolve`): a built-in name is looked up in `BUILTIN` to its
``package.module:Name``, which is imported only when chosen (a run that never uses ultralytics
or diffusers never imports them). Every block is built as ``factory(block_config, cfg)``
(a detector, the one block per run, as ``factory(cfg)``) and checked against its block's
protocol: a class's methods before it is built, every member of the built object after.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

# Built-in blocks per kind: config name -> package.module:Name (a class, or a factory function
# taking the same arguments). The config validator and the docs take the names from here.
BUILTIN: dict[str, dict[str, str]] = {
    "detector": {
        "yolox": "inspire_ros.detect.yolox:YoloxDetector",
        "ultralytics": "inspire_ros.detect.ultralytics:UltralyticsDetector",
    },
    "extractor": {
        "unet": "inspire_ros.extract.unet:UNetExtractor",
        "contrast": "inspire_ros.extract.contrast:ContrastExtractor",
        "grabcut": "inspire_ros.extract.grabcut:GrabCutExtractor",
        "detector_masks": "inspire_ros.extract.detector_masks:DetectorMaskExtractor",
    },
    "generator": {
        "gan": "inspire_ros.generate.gan:GanGenerator",
        "procedural": "inspire_ros.generate.procedural:ProceduralGenerator",
    },
    "segmenter": {"onnx": "inspire_ros.svia.blocks:OnnxSegmenter"},
    "inpainter": {
        "onnx": "inspire_ros.svia.blocks:OnnxInpainter",
        "diffusers": "inspire_ros.svia.diffusion:build_inpainter",
    },
    "harmonizer": {
        "onnx": "inspire_ros.svia.blocks:OnnxHarmonizer",
        "diffusers": "inspire_ros.svia.diffusion:build_harmonizer",
    },
}

# What a Protocol class body holds besides what it asks for.
_TYPING_INTERNALS = frozenset({"Protocol", "Generic"})


def protocol_members(interface: type) -> tuple[list[str], list[str]]:
    """(methods, attributes) a Protocol asks for, from its class bodies and its bases'
    (Python 3.11 has no `__protocol_attrs__`): functions are methods, annotations are
    attributes; dunders, private names and typing's own classes are left out."""
    methods, attributes = set(), set()
    for klass in interface.__mro__:
        if klass is object or klass.__name__ in _TYPING_INTERNALS or klass.__module__ == "typing":
            continue
        body = vars(klass)
        methods |= {n for n, v in body.items() if _public(n) and _is_method(v)}
        attributes |= {n for n, v in body.items() if _public(n) and isinstance(v, property)}
        attributes |= {n for n in body.get("__annotations__", {}) if _public(n)}
    return sorted(methods), sorted(attributes - methods)


def _public(name: str) -> bool:
    return not name.startswith("_")


def _is_method(value: Any) -> bool:
    return inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod))


def resolve(spec: str, key: str, builtin: Mapping[str, str] | None = None) -> Any:
    """The class or factory `spec` names: a built-in name of `builtin`, or ``package.module:Name``.
    `key`: the config key that holds `spec`, for the error."""
    builtin = builtin or {}
    target = builtin.get(spec, spec)
    if ":" not in target:
        names = ", ".join(builtin)
        choices = f"one of {names}, or 'package.module:Class'" if names else "'package.module:Class'"
        raise ConfigError(f"config key '{key}': unknown type {spec!r} ({choices})")
    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"config key '{key}': cannot import {target!r}: {e}") from e
    return obj


def _check(subject: Any, names: list[str], spec: str, key: str, interface: type, want_callable: bool) -> None:
    if want_callable:
        missing = [n for n in names if not callable(getattr(subject, n, None))]
    else:
        missing = [n for n in names if not hasattr(subject, n)]
    if missing:
        raise ConfigError(f"config key '{key}': {spec} lacks {', '.join(missing)} of {interface.__name__}")


def load_plugin(spec: str, key: str, interface: type, builtin: Mapping[str, str] | None = None) -> Any:
    """The block class (or factory) `spec` names; a class's methods are checked against
    `interface` here, the attributes once it is built (`build_plugin`): a block may set them
    in its constructor."""
    factory = resolve(spec, key, builtin)
    if inspect.isclass(factory):
        methods, _ = protocol_members(interface)
        _check(factory, methods, spec, key, interface, want_callable=True)
    elif not callable(factory):
        raise ConfigError(f"config key '{key}': {spec} is not a class or a function")
    return factory


def build_plugin(spec: str, key: str, interface: type, *args: Any, builtin: Mapping[str, str] | None = None) -> Any:
    """Resolve `spec` (see `resolve`), build it with `args` and check it against its block protocol."""
    obj = load_plugin(spec, key, interface, builtin)(*args)
    methods, attributes = protocol_members(interface)
    _check(obj, methods, spec, key, interface, want_callable=True)
    _check(obj, attributes, spec, key, interface, want_callable=False)
    return obj
