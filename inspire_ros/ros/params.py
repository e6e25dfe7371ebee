"""The node's parameters in one table: name, type, range, whether it changes live, and which
anonymizer config key it overrides.

Config-backed parameters take their default from the YAML file named by `config_file`, so
`get_parameter` always shows the value in use, and their range and choices from the config
field they override (`config.field_constraints`): the node refuses exactly what the config
validator refuses. Only node-only parameters state their own. No rclpy here: the launch-file
check reads the table too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import METHODS, PROVIDERS, Config, field_constraints

BOOL, INT, FLOAT, STR, STR_LIST = "bool", "int", "float", "str", "str_list"


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str  # bool | int | float | str | str_list
    description: str
    live: bool = False  # False: read-only, applied on configure
    default: Any = None  # for node-only parameters
    config_key: str | None = None  # the anonymizer config key it overrides
    # Node-only parameters state these; config-backed ones derive them (__post_init__).
    lo: float | None = None
    hi: float | None = None
    step: int = 0  # integer ranges: valid values lo, lo+step, ...
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.config_key is None:
            return
        if self.lo is not None or self.hi is not None or self.step or self.choices:
            raise ValueError(f"parameter {self.name}: range and choices come from config key {self.config_key}")
        lo, hi, odd, choices = field_constraints(self.config_key)
        step = 0
        if lo is not None and self.kind == FLOAT:
            lo, hi = float(lo), float(hi)
        elif lo is not None and self.kind == INT:
            step = 2 if odd else 1  # odd values only: from an odd lo in steps of 2
            lo += 1 if odd and lo % 2 == 0 else 0
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "choices", tuple(choices))

    def default_from(self, cfg: Config) -> Any:
        if self.config_key is None:
            return self.default
        value: Any = cfg
        for part in self.config_key.split("."):
            value = getattr(value, part)
        if self.kind == STR:
            return "" if value is None else str(value)  # "" = no model file (weight-free blocks)
        return list(value) if self.kind == STR_LIST else value

    def to_config(self, value: Any) -> Any:
        """The parameter value as the config key expects it."""
        if self.kind == STR and self.name.endswith(".model"):
            return value or None
        return list(value) if self.kind == STR_LIST else value


_MODEL = "file name in models/manifest.yaml or a path; checked by sha256 on configure"

PARAMS: tuple[ParamSpec, ...] = (
    # --- the node: read-only, used on configure --------------------------------------------------
    ParamSpec("config_file", STR, "anonymizer YAML (empty: the package's config/default.yaml)", default=""),
    ParamSpec("cameras", STR_LIST, "input image topics (relative names, remappable)", default=["image_raw"]),
    ParamSpec(
        "input_types",
        STR_LIST,
        "raw | compressed | auto per camera (or one for all); auto reads the type from the ROS graph",
        default=["auto"],
    ),
    ParamSpec("outputs", STR_LIST, "output topics, one per camera (empty: input + output_suffix)", default=[]),
    ParamSpec("output_suffix", STR, "appended to each input topic to name its output", default="anonymized"),
    ParamSpec(
        "camera_info",
        BOOL,
        "publish each camera's latest camera_info with every anonymized image (CameraPublisher style)",
        default=True,
    ),
    ParamSpec("publish_instances", BOOL, "publish inspire_ros/InstanceArray on <output>/instances", default=True),
    ParamSpec(
        "qos.reliability",
        STR,
        "input subscriptions: best_effort | reliable",
        default="best_effort",
        choices=("best_effort", "reliable"),
    ),
    ParamSpec(
        "qos.output_reliability",
        STR,
        "output publishers: reliable (matches every subscriber) | best_effort",
        default="reliable",
        choices=("best_effort", "reliable"),
    ),
    ParamSpec("qos.depth", INT, "history depth (keep last) of inputs and outputs", default=1, lo=1, hi=100, step=1),
    ParamSpec(
        "diagnostics_period",
        FLOAT,
        "seconds between diagnostic_msgs/DiagnosticArray on /diagnostics",
        default=1.0,
        lo=0.1,
        hi=60.0,
    ),
    ParamSpec(
        "hardware_ids",
        STR_LIST,
        "diagnostics hardware_id per camera, e.g. its serial (empty: the camera's resolved input topic)",
        default=[],
    ),
    ParamSpec("diagnostics.min_rate", FLOAT, "Hz the output should reach (0: no minimum)", default=0.0, lo=0.0, hi=1e4),
    ParamSpec("diagnostics.max_rate", FLOAT, "Hz the output should not exceed (0: none)", default=0.0, lo=0.0, hi=1e4),
    ParamSpec("diagnostics.rate_tolerance", FLOAT, "relative tolerance on min/max_rate", default=0.1, lo=0.0, hi=1.0),
    ParamSpec(
        "diagnostics.window_size", INT, "diagnostic periods the rate is measured over", default=5, lo=1, hi=100, step=1
    ),
    ParamSpec(
        "diagnostics.max_stamp_delay",
        FLOAT,
        "seconds an output's header stamp may lag the node's clock (older: ERROR)",
        default=5.0,
        lo=0.0,
        hi=1e6,
    ),
    ParamSpec(
        "diagnostics.min_stamp_delay",
        FLOAT,
        "lowest acceptable delay in seconds (negative: stamps from the future; below: ERROR)",
        default=-1.0,
        lo=-1e6,
        hi=0.0,
    ),
    ParamSpec(
        "publish_detections",
        BOOL,
        "also publish vision_msgs/Detection2DArray on <output>/detections (needs vision_msgs installed)",
        default=False,
    ),
    ParamSpec(
        "autostart",
        BOOL,
        "configure and activate on start (ros2 run); the launch files set it false and let launch "
        "drive the lifecycle (their own autostart argument)",
        default=True,
    ),
    # --- the anonymizer: read-only model choices ---------------------------------------------------------
    ParamSpec("detector.model", STR, f"detector model: {_MODEL}", config_key="detector.model"),
    ParamSpec(
        "extractor.model", STR, f"mask extractor model (learned extractors): {_MODEL}", config_key="extractor.model"
    ),
    ParamSpec("generator.model", STR, f"generator model (learned generators): {_MODEL}", config_key="generator.model"),
    ParamSpec(
        "runtime.providers",
        STR_LIST,
        f"onnxruntime providers in preference order: {', '.join(PROVIDERS)}",
        config_key="runtime.providers",
    ),
    # Leave a core to DDS and the executor: with every core busy in onnxruntime, large frames
    # arrive late and best-effort ones are lost (README, "Live: the ROS 2 node").
    ParamSpec("runtime.threads", INT, "onnxruntime threads per model", config_key="runtime.threads"),
    # --- the anonymizer: live ---------------------------------------------------------------------------
    ParamSpec("method", STR, " | ".join(METHODS), live=True, config_key="method"),
    ParamSpec(
        "on_error",
        STR,
        "a frame that fails is published blank (blank) or not at all (drop)",
        live=True,
        config_key="on_error",
    ),
    ParamSpec(
        "max_frame_pixels",
        INT,
        "a frame whose header declares more pixels (width x height) fails closed without being decoded",
        live=True,
        config_key="max_frame_pixels",
    ),
    ParamSpec(
        "detector.score_threshold",
        FLOAT,
        "minimum detector confidence",
        live=True,
        config_key="detector.score_threshold",
    ),
    ParamSpec(
        "detector.nms_threshold",
        FLOAT,
        "IoU above which overlapping boxes merge",
        live=True,
        config_key="detector.nms_threshold",
    ),
    ParamSpec(
        "extractor.edges.kernel_size",
        INT,
        "Gaussian kernel size before Canny (odd; privacy knob)",
        live=True,
        config_key="extractor.edges.kernel_size",
    ),
    ParamSpec(
        "extractor.edges.sigma",
        FLOAT,
        "Gaussian sigma before Canny (privacy knob)",
        live=True,
        config_key="extractor.edges.sigma",
    ),
    ParamSpec("extractor.edges.low", INT, "Canny low threshold", live=True, config_key="extractor.edges.low"),
    ParamSpec("extractor.edges.high", INT, "Canny high threshold", live=True, config_key="extractor.edges.high"),
    ParamSpec(
        "jpeg_quality", INT, "JPEG quality of re-encoded compressed frames", live=True, default=90, lo=1, hi=100, step=1
    ),
)

BY_NAME = {p.name: p for p in PARAMS}


def config_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """{config key: value} for the config-backed parameters among `values` ({name: value})."""
    out = {}
    for name, value in values.items():
        spec = BY_NAME.get(name)
        if spec is not None and spec.config_key is not None and value is not None:
            out[spec.config_key] = spec.to_config(value)
    return out
