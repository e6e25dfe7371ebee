"""`anonymizer_node`: a lifecycle node that republishes camera topics anonymized.

configure  validates parameters and the config file, loads and checks the models, creates the
           publishers (lifecycle publishers: they publish only while the node is active);
activate   enables the publishers, subscribes the cameras and starts the worker;
deactivate unsubscribes, stops the worker (frames waiting are dropped), disables the publishers;
cleanup    releases publishers and models.

Every image publisher and subscription takes the standard `qos_overrides.<topic>.<publisher|
subscription>.<history|depth|reliability>` parameters (QoSOverridingOptions) over the profile
of the `qos.*` parameters. Depth frames on a camera input are refused: never anonymized, never
published, counted (`depth_refused`) and logged once per camera.

Subscription callbacks only drop the message into its camera's latest-frame-wins slot
(mailbox.py); one worker thread anonymizes and publishes, so the executor stays free for
parameters, lifecycle services and diagnostics. Fail closed: a frame that fails anywhere is
published blank or not at all (`on_error`), never as it came in.
"""

from __future__ import annotations

import array
import copy
import faulthandler
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from .. import config as config_mod
from ..coco import CLASS_ID
from ..config import ConfigError
from ..io.image_msgs import ImageStream, is_depth, label_of, why
from ..paths import default_config_path
from ..pipeline import Anonymizer
from ..sequence import Stream
from ..track.receipt import by_source
from ..types import FrameStatus
from . import params as P
from . import topics
from .mailbox import Mailbox
from .stats import CameraStats, FrequencyStatus, TimeStampStatus, rss_mb

_ROS_TYPES = {
    P.BOOL: ParameterType.PARAMETER_BOOL,
    P.INT: ParameterType.PARAMETER_INTEGER,
    P.FLOAT: ParameterType.PARAMETER_DOUBLE,
    P.STR: ParameterType.PARAMETER_STRING,
    P.STR_LIST: ParameterType.PARAMETER_STRING_ARRAY,
}
_UNSET_TYPES = {P.STR_LIST: Parameter.Type.STRING_ARRAY}
RCLError = _rclpy.RCLError
DEPTH_ADVICE = (
    "the node does not anonymize depth; sanitize recordings offline with the bag tool's `depth` policy "
    "(drop | copy | invalidate), or do not feed depth topics to the node"
)


def _overridable() -> QoSOverridingOptions:
    """The standard qos_overrides.<topic>.<entity>.{history,depth,reliability} parameters."""
    return QoSOverridingOptions.with_default_policies()


@dataclass(eq=False)  # identity: cameras are looked up by object
class Camera:
    topics: topics.CameraTopics
    stats: CameraStats = field(default_factory=CameraStats)
    kind: str | None = None  # raw | compressed once known
    stream: ImageStream | None = None
    pub: Any = None
    instances_pub: Any = None
    detections_pub: Any = None  # vision_msgs/Detection2DArray (publish_detections)
    info_pub: Any = None  # shared by the cameras of one camera_info topic (raw + compressed)
    subs: list = field(default_factory=list)
    refused_type: str = ""  # auto input advertised with a type the node cannot decode
    hardware_id: str = ""
    depth_label: str = ""  # the encoding/format of the first depth frame refused (logged once)
    freq: FrequencyStatus = field(default_factory=FrequencyStatus)
    stamps: TimeStampStatus = field(default_factory=TimeStampStatus)


class AnonymizerNode(LifecycleNode):
    def __init__(self, node_name: str = "anonymizer", **kwargs):
        super().__init__(node_name, **kwargs)
        self._declare(P.BY_NAME["config_file"], None)
        path = self.get_parameter("config_file").value or str(default_config_path())
        # Validated once here: a bad key stops the process before any topic is touched.
        # A node is live: the live preset unless the config file names another.
        self.file_cfg = config_mod.load(path, preset="live")
        self.config_path = path
        for spec in P.PARAMS[1:]:
            self._declare(spec, self.file_cfg)
        self.anonymizer: Anonymizer | None = None
        self.cameras: list[Camera] = []
        self.publishers_by_topic: dict[str, Any] = {}  # one publisher per topic, whatever lists it twice
        self.info_subs: dict[str, Any] = {}  # camera_info input topic -> subscription
        self.latest_info: dict[str, CameraInfo] = {}  # camera_info input topic -> latest message
        self.mailbox: Mailbox | None = None
        self.worker: threading.Thread | None = None
        self.diag_pub = None
        self.diag_timer = None
        self.discovery_timer = None
        self.detections = "off"  # on | off | unavailable: <why>
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # --- parameters ----------------------------------------------------------------------------

    def _declare(self, spec: P.ParamSpec, cfg: config_mod.Config | None) -> None:
        descriptor = ParameterDescriptor(
            name=spec.name,
            type=_ROS_TYPES[spec.kind],
            description=spec.description,
            read_only=not spec.live,
            additional_constraints=f"one of: {', '.join(spec.choices)}" if spec.choices else "",
        )
        if spec.lo is not None and spec.kind == P.FLOAT:
            descriptor.floating_point_range = [FloatingPointRange(from_value=spec.lo, to_value=spec.hi, step=0.0)]
        if spec.lo is not None and spec.kind == P.INT:
            descriptor.integer_range = [IntegerRange(from_value=int(spec.lo), to_value=int(spec.hi), step=spec.step)]
        default = spec.default_from(cfg) if cfg is not None else spec.default
        if default == [] and spec.kind in _UNSET_TYPES:
            default = _UNSET_TYPES[spec.kind]  # rclpy cannot type an empty list
        self.declare_parameter(spec.name, default, descriptor)

    def param(self, name: str) -> Any:
        try:
            value = self.get_parameter(name).value
        except rclpy.exceptions.ParameterUninitializedException:
            return []
        return list(value) if P.BY_NAME[name].kind == P.STR_LIST else value

    def _check_choices(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            spec = P.BY_NAME.get(name)
            if spec is not None and spec.choices and value not in spec.choices:
                raise ConfigError(f"parameter '{name}': {value!r} is not one of {', '.join(spec.choices)}")

    def _config_from_params(self) -> config_mod.Config:
        values = {s.name: self.param(s.name) for s in P.PARAMS if s.config_key}
        return self.file_cfg.replace(**P.config_overrides(values))

    def _on_set_parameters(self, changed: list[Parameter]) -> SetParametersResult:
        values = {p.name: p.value for p in changed}
        try:
            self._check_choices(values)
            overrides = P.config_overrides(values)
            anonymizer = self.anonymizer
            if overrides:
                base = anonymizer.cfg if anonymizer is not None else self._config_from_params()
                cfg = base.replace(**overrides)  # validates: the error names the key
                if anonymizer is not None:
                    anonymizer = anonymizer.reconfigured(cfg)
        except ConfigError as e:
            return SetParametersResult(successful=False, reason=str(e))
        except Exception as e:  # noqa: BLE001 - a model that fails to load: keep the old one
            return SetParametersResult(successful=False, reason=f"cannot apply: {why(e)}")
        if anonymizer is not self.anonymizer:
            self.anonymizer = anonymizer
            for cam in self.cameras:
                if cam.stream is not None:
                    cam.stream.anonymizer = anonymizer
                    cam.stream.sequence = cam.stream.sequence.rebind(anonymizer)
        if "jpeg_quality" in values:
            for cam in self.cameras:
                if cam.stream is not None:
                    cam.stream.jpeg_quality = int(values["jpeg_quality"])
        if any(name in P.BY_NAME for name in values):  # not the qos_overrides declared with a topic
            self.get_logger().info(f"parameters changed: {values}")
        return SetParametersResult(successful=True)

    # --- lifecycle -----------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            # Choices are not descriptor constraints rclpy enforces (qos.reliability among them).
            self._check_choices({s.name: self.param(s.name) for s in P.PARAMS if s.choices})
            cams = topics.camera_topics(
                self.param("cameras"),
                self.param("outputs"),
                self.param("input_types"),
                self.param("output_suffix"),
                resolve=lambda name, only_expand: self.resolve_topic_name(name, only_expand=only_expand),
            )
            hardware_ids = self.param("hardware_ids")
            if hardware_ids and len(hardware_ids) != len(cams):
                raise ValueError(
                    f"parameter 'hardware_ids': {len(hardware_ids)} ids for {len(cams)} cameras; give one per camera"
                )
            cfg = self._config_from_params()
            self.anonymizer = Anonymizer(cfg)
            self.detections = self._detections_support()
            self.cameras = [
                Camera(
                    t,
                    hardware_id=hardware_ids[i] if hardware_ids else t.resolved,
                    freq=FrequencyStatus(
                        float(self.param("diagnostics.min_rate")),
                        float(self.param("diagnostics.max_rate")),
                        float(self.param("diagnostics.rate_tolerance")),
                        int(self.param("diagnostics.window_size")),
                    ),
                    stamps=TimeStampStatus(
                        float(self.param("diagnostics.min_stamp_delay")),
                        float(self.param("diagnostics.max_stamp_delay")),
                    ),
                )
                for i, t in enumerate(cams)
            ]
            for cam in self.cameras:
                if cam.topics.kind != topics.AUTO:
                    self._bind(cam, cam.topics.kind)
        except Exception as e:  # noqa: BLE001 - report why and stay unconfigured
            self.configure_error = e  # main() tells a bad config (exit 2) from other failures
            self.get_logger().error(f"configure failed: {why(e)}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        provider = getattr(self.anonymizer.detector, "provider", "?")
        self.get_logger().info(
            f"configured: {cfg.method} on {', '.join(cfg.categories)} with {cfg.detector.model} ({provider}); "
            f"config {self.config_path}; cameras {[c.topics.resolved for c in self.cameras]}"
        )
        return TransitionCallbackReturn.SUCCESS

    def _detections_support(self) -> str:
        if not self.param("publish_detections"):
            return "off"
        try:
            import vision_msgs.msg  # noqa: F401 - optional: ros-<distro>-vision-msgs
        except ImportError:
            reason = "vision_msgs is not installed (ros-<distro>-vision-msgs)"
            self.get_logger().warning(f"publish_detections: {reason}; no Detection2DArray is published")
            return f"unavailable: {reason}"
        return "on"

    def _state_label(self) -> str:
        return self._state_machine.current_state[1]

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        super().on_activate(state)  # enables the lifecycle publishers
        self.mailbox = Mailbox(len(self.cameras))
        for cam in self.cameras:
            if cam.kind is not None:
                self._subscribe(cam)
        self.worker = threading.Thread(target=self._work, args=(self.mailbox,), name="anonymizer", daemon=True)
        self.worker.start()
        self.diag_timer = self.create_timer(float(self.param("diagnostics_period")), self._publish_diagnostics)
        if any(cam.kind is None for cam in self.cameras):
            self._discover()
            self.discovery_timer = self.create_timer(0.5, self._discover)
        self.get_logger().info(
            "active: " + "; ".join(f"{c.topics.resolved} -> {c.topics.output}" for c in self.cameras)
        )
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()  # the worker is joined first: no frame is counted published that was gated
        return super().on_deactivate(state)  # disables the lifecycle publishers

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop(self) -> None:
        for timer in (self.diag_timer, self.discovery_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self.diag_timer = self.discovery_timer = None
        for cam in self.cameras:
            for sub in cam.subs:
                self.destroy_subscription(sub)
            cam.subs = []
        for sub in self.info_subs.values():
            self.destroy_subscription(sub)
        self.info_subs = {}
        self.latest_info = {}  # no camera_info of before the deactivation pairs with a later image
        if self.mailbox is not None:
            for index in self.mailbox.clear():  # frames waiting at deactivation are dropped
                self.cameras[index].stats.stale += 1
            self.mailbox.close()
        if self.worker is not None:
            self.worker.join()
        self.worker = None

    def _release(self) -> None:
        for pub in self.publishers_by_topic.values():
            self.destroy_lifecycle_publisher(pub)
        self.publishers_by_topic = {}
        if self.diag_pub is not None:
            self.destroy_publisher(self.diag_pub)
        self.cameras, self.diag_pub, self.anonymizer = [], None, None
        self.detections = "off"

    # --- topics --------------------------------------------------------------------------------

    def _qos(self, reliability: str) -> QoSProfile:
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=int(self.param("qos.depth")),
            reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT,
        )

    def _bind(self, cam: Camera, kind: str) -> None:
        """Create the camera's publishers once its message type is known."""
        from inspire_ros_msgs.msg import InstanceArray  # package inspire_ros_msgs (colcon, or scripts/build_msgs.sh)

        compressed = kind == topics.COMPRESSED
        cam.kind = kind
        cam.stream = camera_stream(self.anonymizer, compressed, int(self.param("jpeg_quality")))
        out_qos = self._qos(self.param("qos.output_reliability"))
        cam.pub = self._publisher(CompressedImage if compressed else Image, cam.topics.output, out_qos)
        if self.param("publish_instances"):
            cam.instances_pub = self._publisher(InstanceArray, cam.topics.instances, 10)
        if self.detections == "on":
            from vision_msgs.msg import Detection2DArray

            cam.detections_pub = self._publisher(Detection2DArray, cam.topics.detections, 10)
        if self.param("camera_info"):
            cam.info_pub = self._publisher(CameraInfo, cam.topics.camera_info_out, out_qos)

    def _publisher(self, msg_type, topic: str, qos):
        """One publisher per topic: a camera listed raw and compressed shares its camera_info and
        instances topics (a second publisher would double every message on them)."""
        pub = self.publishers_by_topic.get(topic)
        if pub is None:
            pub = self.create_lifecycle_publisher(msg_type, topic, qos, qos_overriding_options=_overridable())
            self.publishers_by_topic[topic] = pub
            if self._state_label() in ("active", "activating"):  # bound by discovery while active
                pub.on_activate(None)
        return pub

    def _subscribe(self, cam: Camera) -> None:
        index = self.cameras.index(cam)
        qos = self._qos(self.param("qos.reliability"))
        msg_type = CompressedImage if cam.kind == topics.COMPRESSED else Image
        cam.subs.append(
            self.create_subscription(
                msg_type, cam.topics.resolved, self._on_image(index), qos, qos_overriding_options=_overridable()
            )
        )
        info_in = cam.topics.camera_info_in
        if cam.info_pub is not None and info_in not in self.info_subs:
            # Kept, not forwarded: camera_info goes out with each anonymized image (image_transport's
            # CameraPublisher), stamped like it, so it never runs ahead of or beside the images.
            self.info_subs[info_in] = self.create_subscription(
                CameraInfo, info_in, self._on_info(info_in), qos, qos_overriding_options=_overridable()
            )

    def _on_info(self, topic: str):
        def callback(msg: CameraInfo) -> None:
            self.latest_info[topic] = msg

        return callback

    def _publish_info(self, cam: Camera, header) -> None:
        """The camera's latest camera_info, with the header of the image just published."""
        info = self.latest_info.get(cam.topics.camera_info_in)
        if cam.info_pub is None or info is None:
            return
        out = copy.copy(info)  # the stored message stays as received
        out.header = type(info.header)(stamp=header.stamp, frame_id=header.frame_id)
        cam.info_pub.publish(out)

    def _on_image(self, index: int):
        def callback(msg) -> None:
            stats = self.cameras[index].stats
            stats.received += 1
            if self.mailbox.put(index, msg):
                stats.stale += 1

        return callback

    def _discover(self) -> None:
        """Bind cameras of input type `auto` once their topic shows up in the graph."""
        advertised = dict(self.get_topic_names_and_types())
        for cam in self.cameras:
            if cam.kind is not None:
                continue
            types = advertised.get(cam.topics.resolved, [])
            kind = topics.kind_from_types(types)
            if kind is not None:
                try:
                    self._bind(cam, kind)
                    self._subscribe(cam)
                except Exception as e:  # noqa: BLE001 - a bad qos override: reported, not read
                    cam.kind, cam.refused_type = None, f"cannot be read: {why(e)}"
                    self._report(cam, cam.refused_type)
                    continue
                cam.refused_type = ""
                self.get_logger().info(f"{cam.topics.resolved}: {kind} images")
            elif types and not cam.refused_type:  # advertised, but not as an image the node reads
                cam.refused_type = ", ".join(types)
                readable = f"{topics.IMAGE_TYPE} or {topics.COMPRESSED_TYPE}"
                self._report(cam, f"advertised as {cam.refused_type}, not {readable}: not read")
        if all(cam.kind is not None for cam in self.cameras) and self.discovery_timer is not None:
            self.destroy_timer(self.discovery_timer)
            self.discovery_timer = None

    # --- the worker ----------------------------------------------------------------------------

    def _work(self, mailbox: Mailbox) -> None:
        while True:
            letter = mailbox.take()
            if letter is None:
                return
            cam = self.cameras[letter.camera]
            try:
                self._process(cam, letter.msg, letter.received)
            except Exception as e:  # noqa: BLE001 - whatever failed, the original was not sent
                cam.stats.dropped_on_error += 1
                self._report(cam, f"frame dropped: {why(e)}")

    def _process(self, cam: Camera, msg, received: float) -> None:
        compressed = cam.kind == topics.COMPRESSED
        if is_depth(msg, compressed):  # never anonymized as a picture, never published, never faked
            self._refuse_depth(cam, label_of(msg, compressed))
            return
        result = cam.stream.process(msg)
        if result.msg is not None:
            if not cam.pub.is_activated:  # deactivated while this frame was on its way out
                cam.stats.stale += 1
                return
            cam.pub.publish(result.msg)
            self._publish_info(cam, result.msg.header)
            cam.stats.published += 1
            cam.stats.latency_ms.append((time.monotonic() - received) * 1000)
            cam.freq.tick()
            header = result.msg.header
            cam.stamps.tick(header.stamp.sec + header.stamp.nanosec * 1e-9, self.get_clock().now().nanoseconds * 1e-9)
        if result.status == FrameStatus.ANONYMIZED:
            cam.stats.anonymized += 1
            cam.stats.scrubbed += bool(result.scrubbed) and not result.instances
        elif result.status == FrameStatus.UNCHANGED:
            cam.stats.unchanged += 1
        elif result.status == FrameStatus.BLANKED:
            cam.stats.blanked += 1
        elif result.status == FrameStatus.DROPPED:
            cam.stats.dropped_on_error += 1
        if result.error is not None:
            self._report(cam, f"frame {result.status} ({result.label}): {result.error}")
            return
        cam.stats.instances += len(result.instances)
        if cam.instances_pub is not None:
            cam.instances_pub.publish(instance_array(msg.header, cam.stream.anonymizer.cfg.method, result))
        if cam.detections_pub is not None:
            cam.detections_pub.publish(detection_array(msg.header, result))

    def _refuse_depth(self, cam: Camera, label: str) -> None:
        cam.stats.depth_refused += 1
        if not cam.depth_label:  # once per camera: a depth topic sends every frame
            cam.depth_label = label
            self.get_logger().warning(
                f"{cam.topics.resolved}: depth frames ({label!r}) are refused and not published: {DEPTH_ADVICE}"
            )

    def _report(self, cam: Camera, text: str) -> None:
        cam.stats.last_error = text
        self.get_logger().error(f"{cam.topics.resolved}: {text}", throttle_duration_sec=1.0)

    # --- diagnostics ---------------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        if self.diag_pub is None:
            return
        array_msg = DiagnosticArray()
        array_msg.header.stamp = self.get_clock().now().to_msg()
        anonymizer = self.anonymizer
        name = self.get_fully_qualified_name()
        node = DiagnosticStatus(name=f"{name}: anonymizer", hardware_id=name, level=DiagnosticStatus.OK)
        node.message = self._state_label()
        cfg = anonymizer.cfg if anonymizer is not None else None
        node.values = _kv(
            method=cfg.method if cfg else "",
            preset=(cfg.preset or "") if cfg else "",
            tracking="on" if cfg and cfg.tracking.enabled else "off",
            protection_reduced="; ".join(config_mod.reductions(cfg)) if cfg else "",
            categories=",".join(cfg.categories) if cfg else "",
            detector_model=cfg.detector.model if cfg else "",
            extractor=f"{cfg.extractor.type} {cfg.extractor.model or ''}".strip() if cfg else "",
            generator=f"{cfg.generator.type} {cfg.generator.model or ''}".strip() if cfg else "",
            provider=getattr(anonymizer.detector, "provider", "?") if anonymizer else "",
            rss_mb=f"{rss_mb():.1f}",
            detections=self.detections,
        )
        array_msg.status.append(node)
        for cam in self.cameras:
            window = cam.stats.window()
            status = DiagnosticStatus(name=f"{name}: {cam.topics.input}", hardware_id=cam.hardware_id)
            if window["new_failures"]:
                status.level, status.message = DiagnosticStatus.ERROR, f"{window['new_failures']} frames failed"
            elif window["new_depth"]:  # not a failure: the input is depth, which the node does not anonymize
                status.level = DiagnosticStatus.WARN
                status.message = f"{window['new_depth']} depth frames ({cam.depth_label}) refused: {DEPTH_ADVICE}"
            elif window["new_stale"]:
                status.level, status.message = DiagnosticStatus.WARN, f"{window['new_stale']} stale frames dropped"
            elif cam.kind is None and cam.refused_type:
                status.level, status.message = DiagnosticStatus.ERROR, f"input is {cam.refused_type}: not read"
            elif cam.kind is None:
                status.level, status.message = DiagnosticStatus.WARN, "waiting for the input topic to appear"
            else:
                status.level, status.message = DiagnosticStatus.OK, "ok"
            status.values = _kv(
                input=cam.topics.resolved,
                output=cam.topics.output,
                type=cam.kind or "unknown",
                received=cam.stats.received,
                published=cam.stats.published,
                anonymized=cam.stats.anonymized,
                scrubbed=cam.stats.scrubbed,
                unchanged=cam.stats.unchanged,
                stale_dropped=cam.stats.stale,
                failed=cam.stats.failed,
                blanked=cam.stats.blanked,
                dropped_on_error=cam.stats.dropped_on_error,
                depth_refused=cam.stats.depth_refused,
                instances=cam.stats.instances,
                **_coverage(cam),
                rate_in_hz=f"{window['rate_in_hz']:.2f}",
                rate_out_hz=f"{window['rate_out_hz']:.2f}",
                **{k: f"{v:.1f}" for k, v in cam.stats.latency().items()},
                last_error=cam.stats.last_error,
            )
            array_msg.status.append(status)
            array_msg.status.append(self._topic_status(cam, name))
        self.diag_pub.publish(array_msg)

    def _topic_status(self, cam: Camera, name: str) -> DiagnosticStatus:
        """diagnostic_updater's TopicDiagnostic for the camera's output: frequency and timestamp
        checks merged (worst level, both messages)."""
        f_level, f_msg, f_values = cam.freq.run()
        t_level, t_msg, t_values = cam.stamps.run()
        level = max(f_level, t_level)
        message = "; ".join(m for lv, m in ((f_level, f_msg), (t_level, t_msg)) if lv == level)
        return DiagnosticStatus(
            name=f"{name}: {cam.topics.output} topic status",
            hardware_id=cam.hardware_id,
            level=bytes([level]),
            message=message,
            values=_kv(**f_values, **t_values),
        )


# Instance.class_id of an SVIA scene category (road, building, ...): not a COCO class.
NOT_COCO = 255


def instance_array(header, method: str, result):
    from inspire_ros_msgs.msg import Instance, InstanceArray

    out = InstanceArray(header=header, method=method)
    for inst in result.instances:
        b = inst.box
        out.instances.append(
            Instance(
                category=inst.category,
                class_id=CLASS_ID.get(inst.category, NOT_COCO),
                score=float(inst.score),
                x0=b.x0,
                y0=b.y0,
                x1=b.x1,
                y1=b.y1,
                mask_area=int(inst.mask_area),
            )
        )
    return out


def detection_array(header, result):
    """vision_msgs/Detection2DArray of the replaced instances: box centre and size in pixels,
    one hypothesis each (class_id: the category name, score: the detector's)."""
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    out = Detection2DArray(header=header)
    for inst in result.instances:
        b = inst.box
        det = Detection2D(header=header)
        det.bbox.center.position.x = (b.x0 + b.x1) / 2.0
        det.bbox.center.position.y = (b.y0 + b.y1) / 2.0
        det.bbox.size_x, det.bbox.size_y = float(b.x1 - b.x0), float(b.y1 - b.y0)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = inst.category
        hypothesis.hypothesis.score = float(inst.score)
        det.results.append(hypothesis)
        out.detections.append(det)
    return out


def _coverage(cam: Camera) -> dict[str, int]:
    """The camera's tracker receipt: instances replaced because a track said so."""
    seq = cam.stream.sequence if cam.stream is not None else None
    if seq is None:
        return {}
    r = seq.receipt.to_dict()
    counts = by_source(r)
    return {
        "tracks": r["tracks"],
        "instances_confirmed": counts["confirmed"],
        "instances_coasted": counts["coasted"],
        "tracker_resets": sum(r["tracker_resets"].values()),
    }


def _kv(**values) -> list[KeyValue]:
    return [KeyValue(key=k, value=str(v)) for k, v in values.items()]


def camera_stream(anonymizer: Anonymizer, compressed: bool, jpeg_quality: int = 90) -> ImageStream:
    """The node's per-camera work on one topic's messages (decode, anonymize, re-encode into a
    copy of the message), with a tracker of its own: what the ROS benchmark runs directly."""
    return ImageStream(
        anonymizer,
        compressed,
        _with_compressed if compressed else _with_raw,
        jpeg_quality,
        sequence=Stream(anonymizer),  # one tracker per camera
    )


def _with_raw(msg: Image, payload: bytes) -> Image:
    out = Image(header=msg.header, height=msg.height, width=msg.width, encoding=msg.encoding)
    out.is_bigendian, out.step = msg.is_bigendian, msg.step
    out.data = array.array("B", payload)
    return out


def _with_compressed(msg: CompressedImage, payload: bytes) -> CompressedImage:
    out = CompressedImage(header=msg.header, format=msg.format)
    out.data = array.array("B", payload)
    return out


EXIT_FAILED, EXIT_BAD_CONFIG = 1, 2


def _error(text: str) -> None:
    """One line on stderr (rosout is not up yet, or no longer)."""
    print(f"anonymizer_node: error: {' '.join(text.split())}", file=sys.stderr)


def main(args: list[str] | None = None) -> int:
    """0: shut down by a signal; 2: a bad config file, parameter or --ros-args (one line says
    which and why); 1: configure/activate failed otherwise (a missing or tampered model)."""
    try:
        rclpy.init(args=args)  # handles SIGINT and SIGTERM: spin returns, we clean up below
    except RCLError as e:  # an unparsable --ros-args rule or --params-file
        reason = re.sub(r", at \S+:\d+", "", str(e))
        _error(f"cannot start: {reason}")
        return EXIT_BAD_CONFIG if "parse" in reason else EXIT_FAILED
    try:
        node = AnonymizerNode()
    except ConfigError as e:
        _error(str(e))
        rclpy.try_shutdown()
        return EXIT_BAD_CONFIG
    except ParameterException as e:  # a parameter of the wrong type or out of its range
        _error(f"bad parameter: {e}")
        rclpy.try_shutdown()
        return EXIT_BAD_CONFIG
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    code = 0
    try:
        if node.param("autostart"):
            ok = node.trigger_configure() == TransitionCallbackReturn.SUCCESS
            ok = ok and node.trigger_activate() == TransitionCallbackReturn.SUCCESS
            if not ok:
                # A config key only a block checks (its params) is still a bad config: exit 2.
                bad_config = isinstance(getattr(node, "configure_error", None), ConfigError)
                node.get_logger().fatal("autostart failed (see the error above); exiting")
                code = EXIT_BAD_CONFIG if bad_config else EXIT_FAILED
        if code == 0:
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        # A signal that lands between two waits of the executor shuts the context down under it:
        # rclpy then fails to build the next wait set instead of raising ExternalShutdownException.
        if rclpy.ok():
            raise
    finally:
        if rclpy.ok():
            node.get_logger().info("shutting down")
        else:  # a signal already shut the context down: rosout is gone
            print("anonymizer_node: shutting down", file=sys.stderr)
        # Cleanup after a signal has, rarely, not returned (seen once in CI, not in 40 runs here);
        # a node asked to stop must stop: past the grace period the threads' stacks are printed
        # (to find the cause) and the process exits. Nothing is published after the signal: the
        # context is already shut down.
        watchdog = threading.Timer(SHUTDOWN_GRACE_S, _exit_after_hung_shutdown, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        # Last resort if the hang holds the GIL (the timer thread could not run): C-level dump and exit 1.
        faulthandler.dump_traceback_later(SHUTDOWN_GRACE_S + 3, exit=True)
        node._stop()
        node._release()
        node.destroy_node()
        rclpy.try_shutdown()
        faulthandler.cancel_dump_traceback_later()
        watchdog.cancel()
    return code


SHUTDOWN_GRACE_S = 5.0


def _exit_after_hung_shutdown(code: int) -> None:
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    print(
        f"anonymizer_node: cleanup did not finish within {SHUTDOWN_GRACE_S:g} s (threads above); exiting",
        file=sys.stderr,
        flush=True,
    )
    os._exit(code)


def entry_point() -> None:
    sys.exit(main(sys.argv))


if __name__ == "__main__":
    entry_point()
