"""YAML configuration: typed sections, validated once at start-up.

Every error names the offending key (``detector.score_threshold``) so a typo in a launch
file or a fleet config is caught before any frame is processed.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .coco import CLASS_ID
from .errors import ConfigError

BOX_METHODS = ("inspire", "blur", "pixelate", "fill")  # change only pixels inside detected boxes
METHODS = (*BOX_METHODS, "svia", "hybrid")
# Methods that synthesize detected instances (INSPIRE's replacement), and methods that
# re-synthesize scene categories (SVIA's); hybrid does both.
INSTANCE_METHODS = ("inspire", "hybrid")
SCENE_METHODS = ("svia", "hybrid")
PROVIDERS = ("tensorrt", "cuda", "cpu")


# Above this score threshold a nano detector misses many people: an explicit opt-out is needed.
MAX_SAFE_SCORE = 0.5

# One line to choose how hard to look. Each preset only fills keys the config leaves out.
# live: what one 2-core CPU runs at camera rate (dynamic input following the frame up to 640,
# a tracker that keeps lost people covered). thorough: offline default (tiles at native
# resolution plus the whole frame, tracker, look-ahead over the whole sequence).
PRESETS: dict[str, dict] = {
    "none": {},
    "live": {
        "detector": {"model": "yolox_nano_dynamic.onnx", "fit_frame": True, "input_size": 640, "box_padding": 0.1},
        "tracking": {"enabled": True},
    },
    "thorough": {
        "detector": {
            "model": "yolox_nano_dynamic.onnx",
            "fit_frame": True,
            "input_size": 960,
            "box_padding": 0.1,
            "tiles": {"enabled": True, "size": 640, "overlap": 0.2, "full_frame": True},
        },
        "tracking": {"enabled": True},
        "lookahead": {"enabled": True},
    },
}


def _range(lo: float | None = None, hi: float | None = None, odd: bool = False) -> dict:
    return {"range": (lo, hi), "odd": odd}


@dataclass(frozen=True)
class RuntimeConfig:
    # Ordered preference; CPU is always the last resort and is logged when it is what we got.
    providers: list[str] = field(default_factory=lambda: ["cpu"])
    threads: int = field(default=2, metadata=_range(1, 256))


@dataclass(frozen=True)
class TilesConfig:
    """Sliced inference for frames larger than a tile: overlapping tiles at native resolution
    (small, far people stay big enough for the detector) plus, optionally, the whole frame
    (large, near ones stay whole)."""

    enabled: bool = False
    size: int = field(default=640, metadata=_range(64, 4096))  # tile side in frame pixels
    overlap: float = field(default=0.2, metadata=_range(0.0, 0.75))  # share of a tile shared with its neighbour
    full_frame: bool = True  # also run on the whole frame (downscaled to input_size)


@dataclass(frozen=True)
class DetectorConfig:
    backend: str = "yolox"  # a name in plugins.BUILTIN["detector"], or a plug-in package.module:Class
    model: str = "yolox_nano.onnx"  # manifest name or a path
    sha256: str | None = None  # for models that are not in models/manifest.yaml
    # Models with a dynamic input: the longest side of the network input (a multiple of 32).
    input_size: int = field(default=416, metadata=_range(32, 4096))
    # Dynamic models: the input keeps the frame's aspect ratio and is never larger than the
    # frame (rounded up to 32), instead of an input_size square.
    fit_frame: bool = False
    score_threshold: float = field(default=0.3, metadata=_range(0.0, 1.0))
    # Candidates between this and score_threshold are replaced only where a track confirms
    # them (ByteTrack's second association); without tracking they are ignored.
    low_score_threshold: float = field(default=0.1, metadata=_range(0.0, 1.0))
    nms_threshold: float = field(default=0.45, metadata=_range(0.0, 1.0))
    # Each box grows by this share of its width/height on every side: a nano detector's boxes
    # are tight, and a hand or a foot outside the box stays original.
    box_padding: float = field(default=0.0, metadata=_range(0.0, 1.0))
    tiles: TilesConfig = field(default_factory=TilesConfig)
    params: dict = field(default_factory=dict)  # extra keyword arguments for plugin backends


@dataclass(frozen=True)
class TrackingConfig:
    """Temporal guard: a per-stream multi-object tracker (ByteTrack-style) so that a person the
    detector loses for a few frames is still replaced where the track predicts it."""

    enabled: bool = False
    # Frames a track that lost its detection is still replaced at its predicted box (live).
    coast_frames: int = field(default=5, metadata=_range(0, 1000))
    # Frames a lost track is kept for re-association (offline: gaps up to this are filled).
    buffer_frames: int = field(default=30, metadata=_range(0, 10000))
    match_iou: float = field(default=0.2, metadata=_range(0.01, 1.0))  # first association (confident boxes)
    low_match_iou: float = field(default=0.4, metadata=_range(0.01, 1.0))  # second association (low-score boxes)
    # Boxes not seen by the detector in that frame (coasting, filled, extended) grow by this
    # share of their width/height on every side: a predicted box is less sure than a detected one.
    grow: float = field(default=0.1, metadata=_range(0.0, 2.0))
    # Live streams: a stamp going backwards or jumping more than this resets the tracker.
    max_gap_seconds: float = field(default=1.0, metadata=_range(0.0, 3600.0))


@dataclass(frozen=True)
class LookaheadConfig:
    """Offline (videos, bags): detect every frame first, link tracks, fill their gaps and extend
    them before their first and after their last detection, then replace."""

    enabled: bool = False
    extend_frames: int = field(default=10, metadata=_range(0, 1000))


@dataclass(frozen=True)
class EdgeConfig:
    """Gaussian blur then Canny. Kernel size and sigma are the privacy knobs: more blur,
    fewer identifying details survive into the generator's condition."""

    kernel_size: int = field(default=5, metadata=_range(1, 99, odd=True))
    sigma: float = field(default=1.5, metadata=_range(0.0, 100.0))
    low: int = field(default=60, metadata=_range(0, 1000))
    high: int = field(default=150, metadata=_range(0, 1000))
    # adaptive: Canny thresholds from each crop's own gradients (high = the crop's
    # `percentile`-th gradient magnitude, never above `high`; low keeps the low/high ratio), so
    # a dark car or a person in shade keeps its outline; none: the fixed low/high everywhere.
    contrast: Literal["adaptive", "none"] = "adaptive"
    percentile: float = field(default=90.0, metadata=_range(50.0, 99.9))


@dataclass(frozen=True)
class ExtractorConfig:
    type: str = "unet"  # a name in plugins.BUILTIN["extractor"], or a plug-in package.module:Class
    model: str | None = None  # for learned extractors: manifest name or a path
    sha256: str | None = None  # for models that are not in models/manifest.yaml
    edges: EdgeConfig = field(default_factory=EdgeConfig)
    # Grow every mask by this many pixels of the crop (inside the box): a mask's edge is where
    # a silhouette's last pixels (hair, mirrors, wheels) stay original.
    mask_dilation: int = field(default=0, metadata=_range(0, 32))
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratorConfig:
    type: str = "gan"  # a name in plugins.BUILTIN["generator"], or a plug-in package.module:Class
    model: str | None = None  # for learned generators: manifest name or a path
    sha256: str | None = None  # for models that are not in models/manifest.yaml
    latent_dim: int = field(default=16, metadata=_range(1, 4096))
    # per_frame: a fresh latent for every instance in every frame (the paper; replaced people
    # cannot be linked across frames by appearance, but flicker). per_track: one latent per
    # track (a consistent synthetic person while tracked; still unrelated to the real one).
    latents: Literal["per_frame", "per_track"] = "per_frame"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryConfig:
    crop_size: int = field(default=64, metadata=_range(8, 1024))
    # An instance whose padded square (its box's longer side, in frame pixels) is more than
    # crop_size * max_upscale is cropped, extracted and generated at large_crop_size instead,
    # so a near person is not a crop_size drawing scaled up many times. None: one size for all.
    large_crop_size: int | None = field(default=None, metadata=_range(8, 1024))
    max_upscale: float = field(default=2.0, metadata=_range(1.0, 16.0))
    # Per-category plug-ins; None means the top-level extractor/generator.
    extractor: ExtractorConfig | None = None
    generator: GeneratorConfig | None = None


@dataclass(frozen=True)
class BlurConfig:
    size: int = field(default=256, metadata=_range(8, 4096))
    kernel_size: int = field(default=45, metadata=_range(1, 255, odd=True))
    sigma: float = field(default=25.0, metadata=_range(0.0, 1000.0))


@dataclass(frozen=True)
class PixelateConfig:
    cells: int = field(default=8, metadata=_range(1, 256))  # cells along the longer box side


@dataclass(frozen=True)
class FillConfig:
    color: list[int] = field(default_factory=lambda: [127, 127, 127])  # BGR


@dataclass(frozen=True)
class BaselinesConfig:
    blur: BlurConfig = field(default_factory=BlurConfig)
    pixelate: PixelateConfig = field(default_factory=PixelateConfig)
    fill: FillConfig = field(default_factory=FillConfig)


@dataclass(frozen=True)
class SceneBlockConfig:
    """One SVIA block. onnx: a model the project trains (manifest name or path); diffusers: a
    local Stable Diffusion folder (inpainter: an inpainting pipeline, harmonizer: img2img over
    the same weights), never a hub id; or a plug-in `package.module:Class`."""

    type: str = "onnx"  # a name in plugins.BUILTIN[<block>], or a plug-in package.module:Class
    model: str | None = None  # None: the shipped model of this block
    sha256: str | None = None  # for onnx models that are not in models/manifest.yaml
    params: dict = field(default_factory=dict)  # block-specific (diffusers: steps, guidance, ...)


@dataclass(frozen=True)
class SviaConfig:
    """SVIA (methods svia and hybrid): segment -> Laplace noise -> inpaint -> harmonize."""

    # What is replaced; names from svia.classes.CATEGORIES (the paper's five by default). The
    # hybrid method leaves person and vehicle to INSPIRE's instance replacement.
    categories: list[str] = field(default_factory=lambda: ["person", "vehicle", "traffic_sign", "road", "building"])
    # Laplace scale b in 8-bit levels added inside the masks before inpainting: the privacy
    # knob (0: the inpainter sees the original region; >= 100: it mostly invents it).
    noise_scale: float = field(default=96.0, metadata=_range(0.0, 1000.0))
    # Working resolution (multiples of 16): segmentation, inpainting and harmonizing run here;
    # the synthesized regions are scaled back to the frame and pasted inside the masks.
    width: int = field(default=256, metadata=_range(32, 4096))
    height: int = field(default=192, metadata=_range(32, 4096))
    # Masks grow by this many working-resolution pixels: segment borders are where a
    # segmenter is least sure.
    mask_dilation: int = field(default=2, metadata=_range(0, 64))
    # person / vehicle / traffic_sign masks also cover the detector's boxes of those categories
    # (a person the segmenter misses but the detector finds is still replaced).
    use_detections: bool = True
    # regions: the harmonizer may change only replaced pixels (everything else bit-identical);
    # image: the whole frame (the paper; no original pixel is guaranteed to survive); off.
    harmonize: Literal["regions", "image", "off"] = "regions"
    # Text prompts per category for the diffusers backend (SVIA conditions on text).
    prompts: dict[str, str] = field(default_factory=dict)
    segmenter: SceneBlockConfig = field(default_factory=SceneBlockConfig)
    inpainter: SceneBlockConfig = field(default_factory=SceneBlockConfig)
    harmonizer: SceneBlockConfig = field(default_factory=SceneBlockConfig)


def _default_categories() -> dict[str, CategoryConfig]:
    # The shipped generator is fully convolutional: near people and cars are drawn at 128.
    return {"person": CategoryConfig(large_crop_size=128), "car": CategoryConfig(large_crop_size=128)}


@dataclass(frozen=True)
class Config:
    # live | thorough; None: the tool's own (node: live; anonymize and bag sanitize: thorough).
    preset: Literal["live", "thorough", "none"] | None = None
    # inspire: detected people/cars replaced by synthesized ones; blur | pixelate | fill: box
    # baselines; svia: the scene categories of `svia` segmented and re-synthesized; hybrid:
    # inspire for the detected instances + svia for the other scene categories.
    method: Literal["inspire", "blur", "pixelate", "fill", "svia", "hybrid"] = "inspire"
    seed: int | None = field(default=None, metadata=_range(0, 2**63 - 1))  # None: fresh OS entropy
    on_error: Literal["blank", "drop"] = "blank"
    # Camera messages (node, bag sanitize): a frame whose header declares more pixels (width x
    # height) is blanked or dropped without being decoded; default 8K UHD (7680 x 4320).
    max_frame_pixels: int = field(default=33_177_600, metadata=_range(1, 2**40))
    # Settings that switch protection (partly) off are refused unless this is true.
    allow_reduced_protection: bool = False
    # Depth and other non-picture image topics (bag sanitize): copy (kept as recorded, NOT
    # anonymized) | drop (left out of the output) | invalidate (the pixels of the instances
    # replaced in the paired colour frame set to 0 / NaN; the whole frame without a pair).
    depth: Literal["copy", "drop", "invalidate"] = "drop"
    # invalidate: a colour frame pairs with a depth frame within this many ms of its header stamp.
    depth_pair_ms: float = field(default=50.0, metadata=_range(0.0, 10000.0))
    # invalidate: the colour boxes grow by this share of their width/height on every side.
    depth_grow: float = field(default=0.2, metadata=_range(0.0, 2.0))
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    lookahead: LookaheadConfig = field(default_factory=LookaheadConfig)
    categories: dict[str, CategoryConfig] = field(default_factory=_default_categories)
    extractor: ExtractorConfig = field(default_factory=ExtractorConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    svia: SviaConfig = field(default_factory=SviaConfig)

    def extractor_for(self, category: str) -> ExtractorConfig:
        return self.categories[category].extractor or self.extractor

    def generator_for(self, category: str) -> GeneratorConfig:
        return self.categories[category].generator or self.generator

    def replace(self, **changes: Any) -> Config:
        """A validated copy with top-level or dotted-key changes, e.g. {"method": "blur"}."""
        data = to_dict(self)
        for key, value in changes.items():
            node = data
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return from_dict(data)


# ---------------------------------------------------------------------------------------
# Generic dataclass builder with key-naming errors.


def _fail(path: str, msg: str) -> typing.NoReturn:
    # Keys come from the file: keep the message one printable line of reasonable length.
    path = "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)
    path = path if len(path) <= 120 else path[:117] + "..."
    raise ConfigError(f"config key '{path}': {msg}")


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80


def _shown(value: Any) -> str:
    """A short repr for messages: a wrong value may be a long string or a huge structure."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):  # e.g. an int with more digits than str() allows
        return f"<{type(value).__name__}>"


def _build(tp: Any, value: Any, path: str, meta: typing.Mapping = types.MappingProxyType({})) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _build(inner, value, path, meta)
    if origin is Literal:
        if value not in args:
            _fail(path, f"must be one of {', '.join(map(str, args))}; got {_shown(value)}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            _fail(path, f"expected a mapping, got {type(value).__name__}")
        if not args:
            return dict(value)
        return {str(k): _build(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            _fail(path, f"expected a list, got {_shown(value)}")
        return [_build(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            _fail(path, f"expected true or false, got {_shown(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"expected an integer, got {_shown(value)}")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, f"expected a number, got {_shown(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the float range
            _fail(path, f"must be a finite number, got {_shown(value)}")
        if not math.isfinite(value):  # NaN compares false with every bound: it would pass them all
            _fail(path, f"must be a finite number, got {_shown(value)}")
    elif tp is str:
        if not isinstance(value, str):
            _fail(path, f"expected a string, got {_shown(value)}")
    lo, hi = meta.get("range", (None, None))
    if lo is not None and value < lo or hi is not None and value > hi:
        _fail(path, f"must be in [{lo}, {hi}], got {_shown(value)}")
    if meta.get("odd") and value % 2 == 0:
        _fail(path, f"must be odd (a Gaussian kernel size), got {_shown(value)}")
    return value


def _build_dataclass(cls: type, value: Any, path: str) -> Any:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        _fail(path or "<root>", f"expected a mapping, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        if key not in fields:
            where = f"{path}.{key}" if path else str(key)
            _fail(where, f"unknown key (allowed here: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            where = f"{path}.{name}" if path else name
            kwargs[name] = _build(hints[name], value[name], where, f.metadata)
    return cls(**kwargs)


def _reduced(cfg: Config) -> list[tuple[str, str]]:
    """(config key, why) of each setting in force that protects fewer people than the defaults."""
    out = []
    if cfg.detector.score_threshold > MAX_SAFE_SCORE:
        out.append(
            (
                "detector.score_threshold",
                f"{cfg.detector.score_threshold} is above {MAX_SAFE_SCORE}: many people and cars will not be "
                "detected, so not replaced",
            )
        )
    if "person" not in cfg.categories:
        out.append(("categories", f"({', '.join(cfg.categories)}) do not include person: nobody is replaced"))
    if cfg.method == "svia" and "person" not in cfg.svia.categories:
        names = ", ".join(cfg.svia.categories)
        out.append(("svia.categories", f"({names}) do not include person: people stay original"))
    return out


def reductions(cfg: Config) -> list[str]:
    """Settings in force that protect fewer people than the defaults would, as sentences."""
    return [f"{key} {why}" for key, why in _reduced(cfg)]


def _check_semantics(cfg: Config) -> None:
    for name in cfg.categories:
        if name not in CLASS_ID:
            _fail(f"categories.{name}", "not a COCO class name (e.g. person, car, bus, truck)")
    if not cfg.categories:
        _fail("categories", "at least one protected category is required")
    for name, cat in cfg.categories.items():
        if cat.large_crop_size is not None and cat.large_crop_size <= cat.crop_size:
            _fail(
                f"categories.{name}.large_crop_size",
                f"must be larger than crop_size ({cat.crop_size}), got {cat.large_crop_size}; null turns it off",
            )
    for i, p in enumerate(cfg.runtime.providers):
        if p not in PROVIDERS:
            _fail(f"runtime.providers[{i}]", f"must be one of {', '.join(PROVIDERS)}; got {_shown(p)}")
    if len(cfg.baselines.fill.color) != 3 or not all(0 <= c <= 255 for c in cfg.baselines.fill.color):
        _fail("baselines.fill.color", "must be three integers in [0, 255] (B, G, R)")
    extractors = [("extractor", cfg.extractor)]
    extractors += [(f"categories.{n}.extractor", c.extractor) for n, c in cfg.categories.items()]
    for where, sec in extractors:
        if sec is not None and sec.edges.low > sec.edges.high:
            _fail(f"{where}.edges.low", "must not exceed edges.high")
    _check_svia(cfg.svia)
    if not cfg.allow_reduced_protection:
        for key, why in _reduced(cfg):
            _fail(key, f"{why}; set allow_reduced_protection: true to accept that")


def _check_svia(svia: SviaConfig) -> None:
    from .plugins import BUILTIN
    from .svia.classes import CATEGORY_NAMES

    for i, name in enumerate(svia.categories):
        if name not in CATEGORY_NAMES:
            _fail(f"svia.categories[{i}]", f"must be one of {', '.join(CATEGORY_NAMES)}; got {_shown(name)}")
    if len(set(svia.categories)) != len(svia.categories):
        _fail("svia.categories", "lists a category twice")
    for key in svia.prompts:
        if key not in CATEGORY_NAMES:
            _fail(f"svia.prompts.{key}", f"not an SVIA category ({', '.join(CATEGORY_NAMES)})")
    for key in ("width", "height"):
        if getattr(svia, key) % 16:
            _fail(f"svia.{key}", f"must be a multiple of 16 (the blocks halve it four times); got {getattr(svia, key)}")
    for block in ("segmenter", "inpainter", "harmonizer"):
        t = getattr(svia, block).type
        allowed = tuple(BUILTIN[block])
        if t not in allowed and ":" not in t:
            choices = " or ".join(allowed)
            _fail(f"svia.{block}.type", f"must be {choices} or a plug-in package.module:Class; got {_shown(t)}")


def field_constraints(key: str) -> tuple[Any, Any, bool, tuple]:
    """(lo, hi, odd, choices) the validator enforces on a dotted config key, read from its
    dataclass field: the `_range` metadata and the arguments of a `Literal` type. The ROS node
    derives its parameter ranges from here (ros/params.py)."""
    cls: Any = Config
    *parents, leaf = key.split(".")
    for part in parents:
        cls = _unoptional(typing.get_type_hints(cls)[part])
        if not dataclasses.is_dataclass(cls):
            raise KeyError(f"{key}: {part} is not a section")
    f = {f.name: f for f in dataclasses.fields(cls)}[leaf]
    tp = _unoptional(typing.get_type_hints(cls)[leaf])
    lo, hi = f.metadata.get("range", (None, None))
    choices = typing.get_args(tp) if typing.get_origin(tp) is Literal else ()
    return lo, hi, bool(f.metadata.get("odd")), choices


def _unoptional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp


def block_params(params: dict, defaults: dict, key: str) -> dict:
    """Defaults overlaid with a block's `params`, refusing keys the block does not know."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        _fail(f"{key}.{unknown[0]}", f"unknown key (allowed here: {', '.join(defaults)})")
    return {**defaults, **params}


def _overlay(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _overlay(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def from_dict(data: dict | None, preset: str | None = None) -> Config:
    """Build and validate a Config. A preset (the file's `preset` key, else `preset`) fills
    every key the data leaves out; keys the data sets always win."""
    data = data if data is not None else {}
    if isinstance(data, dict):
        chosen = data.get("preset") or preset
        if isinstance(chosen, str) and chosen in PRESETS:
            data = {**_overlay(PRESETS[chosen], data), "preset": chosen}
    cfg = _build_dataclass(Config, data, "")
    _check_semantics(cfg)
    return cfg


# ---------------------------------------------------------------------------------------
# Reading a config file. A config is a few kilobytes; these limits refuse a broken or hostile
# file (megabytes of junk, an alias "billion laughs", deep nesting) in about a second instead
# of letting it take the machine's memory and CPU (the YAML parser is pure Python).

MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_VALUES = 20_000  # YAML values, every use of an alias counted in full
MAX_CONFIG_DEPTH = 32  # mappings and lists inside one another, aliases expanded
MAX_CONFIG_INT_BITS = 256  # no setting needs more; a longer integer cannot even be printed
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.YAMLError):
    """A file the loader will not read to the end; `key` is where, when known."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message, self.key = message, key


class _ConfigLoader(yaml.SafeLoader):
    """yaml.SafeLoader that stops early on nesting and size and refuses integers no setting
    can hold. Aliases and keys given twice are checked on the composed nodes (_check_nodes)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._values = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._values += 1
        try:
            if self._depth > MAX_CONFIG_DEPTH:
                raise _Refused(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
            if self._values > MAX_CONFIG_VALUES:
                raise _Refused(f"more than {MAX_CONFIG_VALUES} values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node)
        if value.bit_length() > MAX_CONFIG_INT_BITS:
            raise _Refused(f"an integer of more than {MAX_CONFIG_INT_BITS} bits on line {node.start_mark.line + 1}")
        return value


_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _ConfigLoader.construct_yaml_int)


def _check_nodes(root: yaml.Node) -> None:
    """Refuse keys given twice in one mapping, aliases that contain themselves, and aliases
    that expand past the limits. Each node is measured once (memoized), so a bomb of nested
    aliases costs time linear in the file, while every place an alias is used counts in full."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values once expanded, height)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, path: str, depth: int) -> tuple[int, int]:
        ident = id(node)
        if ident in open_nodes:
            raise _Refused("an alias refers to a value that contains it (recursive alias)", path or None)
        if ident not in measured:
            if depth > MAX_CONFIG_DEPTH:
                raise _Refused(f"nested more than {MAX_CONFIG_DEPTH} levels deep once aliases are expanded")
            open_nodes.add(ident)
            children: list[tuple[yaml.Node, str]] = []
            if isinstance(node, yaml.SequenceNode):
                children = [(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
            elif isinstance(node, yaml.MappingNode):
                seen: dict[tuple[str, str], int] = {}
                for key, value in node.value:
                    name = key.value if isinstance(key, yaml.ScalarNode) else f"<{key.id}>"
                    where = f"{path}.{name}" if path else name
                    if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                        line = key.start_mark.line + 1
                        if (key.tag, key.value) in seen:
                            first = seen[(key.tag, key.value)]
                            raise _Refused(f"given twice (lines {first} and {line}): keep one", where)
                        seen[(key.tag, key.value)] = line
                    children += [(key, where), (value, where)]
            size, height = 1, 0
            for child, where in children:
                child_size, child_height = measure(child, where, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_CONFIG_VALUES:
                    raise _Refused(f"more than {MAX_CONFIG_VALUES} values once aliases are expanded", path or None)
            open_nodes.discard(ident)
            measured[ident] = (size, height)
        size, height = measured[ident]
        if depth + height > MAX_CONFIG_DEPTH:
            raise _Refused(f"nested more than {MAX_CONFIG_DEPTH} levels deep once aliases are expanded", path or None)
        return size, height

    measure(root, "", 0)


def _parse(raw: bytes) -> Any:
    loader = _ConfigLoader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(e: yaml.YAMLError) -> str:
    """One line: what is wrong and where (PyYAML's own messages span several lines)."""
    if isinstance(e, yaml.MarkedYAMLError) and e.problem:
        where = f" (line {e.problem_mark.line + 1}, column {e.problem_mark.column + 1})" if e.problem_mark else ""
        context = f"{e.context}: " if e.context else ""
        return " ".join(f"{context}{e.problem}{where}".split())
    return " ".join(str(e).split())


def read_file(path: str | Path) -> Any:
    """The YAML data of a config file, or a ConfigError naming the file, the problem and the fix."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"config file {path} is a directory: give the path of a YAML file")
        if path.exists() and not path.is_file():
            raise ConfigError(f"config file {path} is not a regular file: give the path of a YAML file")
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(
            f"cannot read config file {path}: {e.strerror or e}; check the path and its permissions"
        ) from e
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config (a config is a few "
            "KiB of YAML, see config/default.yaml)"
        )
    try:
        return _parse(raw)
    except _Refused as e:
        where = f"config key '{e.key}': " if e.key else ""
        raise ConfigError(f"{path}: {where}{e.message}; refused (see config/default.yaml for the format)") from None
    except yaml.reader.ReaderError as e:  # binary data: not UTF-8, or control characters
        raise ConfigError(
            f"config file {path} is not a YAML text file (byte {e.position}: {e.reason}): "
            "give the path of a YAML config such as config/default.yaml"
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {_yaml_problem(e)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as e:  # e.g. a date that does not exist
        raise ConfigError(f"config file {path} holds a value YAML cannot represent: {_shown(str(e))}") from None


def load(path: str | Path | None = None, preset: str | None = None) -> Config:
    """Load and validate a YAML config; None gives the built-in defaults. `preset` applies
    when the file does not name one (each tool passes its own: node live, offline thorough)."""
    if path is None:
        return from_dict({}, preset)
    data = read_file(path)
    try:
        return from_dict(data, preset)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


def to_dict(cfg: Any) -> Any:
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [to_dict(v) for v in cfg]
    return cfg
