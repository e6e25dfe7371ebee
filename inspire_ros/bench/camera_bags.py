"""Camera bags built from real frames the way a recorder writes them (`inspire bag bench` and
the tests of the bag tool).

No real bag with camera topics is available offline, so these are written with rosbags: a
camera topic at 10 Hz with realistic headers (frame_id, stamps a few ms before the log time),
camera_info beside it, an IMU at 100 Hz, sensor-data QoS for the camera and reliable QoS for
the rest (rosbag2), callerids and latching (ROS 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import cv2
import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from ..io import encodings

T0 = 1_700_000_000_000_000_000  # ns
FRAME_PERIOD = 100_000_000  # 10 Hz, as the PETS video
IMU_PER_FRAME = 10
LATENCY = 4_000_000  # header stamp -> log time
IMAGE_TOPIC, COMPRESSED_TOPIC = "/camera/image_raw", "/camera/image_raw/compressed"
INFO_TOPIC, IMU_TOPIC = "/camera/camera_info", "/imu/data"
DEPTH_TOPIC, COMPRESSED_DEPTH_TOPIC = "/camera/depth/image_raw", "/camera/depth/image_raw/compressedDepth"
_INF = QosTime(sec=9223372036, nsec=854775807)


def recorder_qos(reliable: bool, depth: int) -> Qos:
    """Offered QoS as `ros2 bag record` stores it for a publisher (infinite durations)."""
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=depth,
        reliability=QosReliability.RELIABLE if reliable else QosReliability.BEST_EFFORT,
        durability=QosDurability.VOLATILE,
        deadline=_INF,
        lifespan=_INF,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=_INF,
        avoid_ros_namespace_conventions=False,
    )


@dataclass
class BagSpec:
    kind: str = "rosbag2"  # rosbag2 | rosbag1
    storage: str = "sqlite3"  # rosbag2: sqlite3 | mcap
    compression: str = "none"  # rosbag2: none | file | message | chunk; rosbag1: none | bz2 | lz4
    encoding: str | None = "bgr8"  # raw Image topic (None: none)
    compressed_format: str | None = None  # e.g. "rgb8; jpeg compressed bgr8" adds a CompressedImage topic
    width: int | None = 384  # frames are resized to this width (None: their own size)
    camera_info: bool = True  # a CameraInfo topic beside the camera
    version: int = 8  # rosbag2 metadata version
    # Replace chosen image payloads: frame index -> bytes (corrupt frames for fail-closed tests).
    raw_payload: dict[int, bytes] = field(default_factory=dict)
    compressed_payload: dict[int, bytes] = field(default_factory=dict)
    # A depth camera beside the colour one: 16UC1 (mm) or 32FC1 (m) on DEPTH_TOPIC, at half the
    # colour size, registered to it (same frame_id unless depth_frame_id says otherwise).
    depth_encoding: str | None = None
    compressed_depth: bool = False  # "16UC1; compressedDepth png" on COMPRESSED_DEPTH_TOPIC
    depth_frame_id: str = "camera_optical_frame"
    depth_stamp_offset: int = 0  # ns added to the depth frames' header stamps


@dataclass(frozen=True)
class CameraBag:
    path: Path
    frames: int
    width: int
    height: int
    messages: int
    megabytes: float  # serialized message bytes


def depth_of(frame: np.ndarray) -> np.ndarray:
    """A plausible depth map in mm for a frame: far background, nearer where it is darker, a
    band of missing depth (0) on the left as a real sensor has."""
    gray = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (9, 9), 3).astype(np.float32)
    depth = (1500.0 + 12.0 * gray).astype(np.uint16)
    depth[:, : max(1, depth.shape[1] // 40)] = 0
    return depth


def compressed_depth_payload(depth_mm: np.ndarray) -> bytes:
    """compressed_depth_image_transport's 16UC1 PNG: a 12-byte ConfigHeader, then the PNG."""
    header = np.array([0], "<i4").tobytes() + np.array([0.0, 0.0], "<f4").tobytes()
    return header + cv2.imencode(".png", depth_mm)[1].tobytes()


class _Bag:
    """Adds connections and messages to either writer with the same calls."""

    def __init__(self, path: Path, spec: BagSpec):
        self.spec, self.ros1 = spec, spec.kind == "rosbag1"
        self.store = get_typestore(Stores.ROS1_NOETIC if self.ros1 else Stores.ROS2_HUMBLE)
        if self.ros1:
            self.writer = Writer1(path)
            if spec.compression != "none":
                self.writer.set_compression(Writer1.CompressionFormat[spec.compression.upper()])
        else:
            plugin = StoragePlugin.MCAP if spec.storage == "mcap" else StoragePlugin.SQLITE3
            self.writer = Writer2(path, version=spec.version, storage_plugin=plugin)
            modes = {"file": CompressionMode.FILE, "message": CompressionMode.MESSAGE, "chunk": CompressionMode.STORAGE}
            if spec.compression != "none":
                self.writer.set_compression(modes[spec.compression], CompressionFormat.ZSTD)
        self.writer.open()
        self.seq = 0
        self.messages = self.bytes = 0

    def connection(self, topic: str, msgtype: str, reliable: bool, depth: int, node: str):
        if self.ros1:
            return self.writer.add_connection(topic, msgtype, typestore=self.store, callerid=node, latching=0)
        return self.writer.add_connection(
            topic,
            msgtype,
            typestore=self.store,
            serialization_format="cdr",
            offered_qos_profiles=[recorder_qos(reliable, depth)],
        )

    def header(self, stamp: int, frame_id: str):
        t = self.store.types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9)
        header_type = self.store.types["std_msgs/msg/Header"]
        self.seq += 1
        if self.ros1:
            return header_type(seq=self.seq, stamp=t, frame_id=frame_id)
        return header_type(stamp=t, frame_id=frame_id)

    def write(self, conn, log_time: int, msg) -> None:
        if self.ros1:
            data = self.store.serialize_ros1(msg, conn.msgtype)
        else:
            data = self.store.serialize_cdr(msg, conn.msgtype)
        self.write_raw(conn, log_time, data)

    def write_raw(self, conn, log_time: int, data: bytes) -> None:
        self.writer.write(conn, log_time, data)
        self.messages, self.bytes = self.messages + 1, self.bytes + len(data)


def write_camera_bag(path: Path, frames: Iterable[np.ndarray], spec: BagSpec) -> Path:
    """A bag with the frames on the camera topic(s), camera_info and an IMU; returns `path`."""
    return record_camera_bag(path, frames, spec).path


def _sized(frame: np.ndarray, width: int | None) -> np.ndarray:
    if width is None:
        return frame
    height = round(frame.shape[0] * width / frame.shape[1]) // 2 * 2
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def record_camera_bag(path: Path, frames: Iterable[np.ndarray], spec: BagSpec) -> CameraBag:
    """write_camera_bag, saying what it wrote; the frames are streamed (any length)."""
    frames = iter(frames)
    first = next(frames)
    h, w = _sized(first, spec.width).shape[:2]
    bag = _Bag(path, spec)
    try:
        count = _write_frames(bag, chain([first], frames), spec, w, h)
    finally:
        bag.writer.close()
    return CameraBag(path, count, w, h, bag.messages, bag.bytes / 1e6)


def _write_frames(bag: _Bag, frames: Iterable[np.ndarray], spec: BagSpec, w: int, h: int) -> int:
    types = bag.store.types
    camera = [  # (wanted, topic, type, reliable, depth): the camera's topics, in connection order
        (spec.encoding, IMAGE_TOPIC, "sensor_msgs/msg/Image", False, 5),
        (spec.compressed_format, COMPRESSED_TOPIC, "sensor_msgs/msg/CompressedImage", False, 5),
        (spec.depth_encoding, DEPTH_TOPIC, "sensor_msgs/msg/Image", False, 5),
        (spec.compressed_depth, COMPRESSED_DEPTH_TOPIC, "sensor_msgs/msg/CompressedImage", False, 5),
        (spec.camera_info, INFO_TOPIC, "sensor_msgs/msg/CameraInfo", True, 10),
    ]
    image_conn, comp_conn, depth_conn, cdepth_conn, info_conn = (
        bag.connection(topic, msgtype, reliable, depth, "/camera") if wanted else None
        for wanted, topic, msgtype, reliable, depth in camera
    )
    imu_conn = bag.connection(IMU_TOPIC, "sensor_msgs/msg/Imu", True, 100, "/imu")
    rng = np.random.default_rng(0)
    count = 0
    for i, frame in enumerate(frames):
        frame = _sized(frame, spec.width)
        count += 1
        stamp = T0 + i * FRAME_PERIOD
        for k in range(IMU_PER_FRAME):
            t = stamp + k * FRAME_PERIOD // IMU_PER_FRAME
            imu = types["sensor_msgs/msg/Imu"](
                header=bag.header(t, "imu_link"),
                orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
                orientation_covariance=np.full(9, 0.01),
                angular_velocity=types["geometry_msgs/msg/Vector3"](*rng.normal(0, 0.01, 3)),
                angular_velocity_covariance=np.full(9, 0.001),
                linear_acceleration=types["geometry_msgs/msg/Vector3"](*rng.normal(0, 0.05, 3) + [0, 0, 9.81]),
                linear_acceleration_covariance=np.full(9, 0.01),
            )
            bag.write(imu_conn, t + 1_000_000, imu)
        header = bag.header(stamp, "camera_optical_frame")
        if image_conn is not None:
            raw = encodings.encode_bgr(frame, spec.encoding)
            msg = types["sensor_msgs/msg/Image"](
                header=header,
                height=h,
                width=w,
                encoding=spec.encoding,
                is_bigendian=0,
                step=raw.step,
                data=np.frombuffer(spec.raw_payload.get(i, raw.data), np.uint8),
            )
            bag.write(image_conn, stamp + LATENCY, msg)
        if comp_conn is not None:
            ext = ".png" if "png" in spec.compressed_format else ".jpg"
            pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if spec.compressed_format.startswith("mono") else frame
            params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == ".jpg" else []
            data = spec.compressed_payload.get(i) or cv2.imencode(ext, pixels, params)[1]
            msg = types["sensor_msgs/msg/CompressedImage"](
                header=header, format=spec.compressed_format, data=np.frombuffer(bytes(data), np.uint8)
            )
            bag.write(comp_conn, stamp + LATENCY + 500_000, msg)
        if depth_conn is not None or cdepth_conn is not None:
            depth_mm = depth_of(cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
            dheader = bag.header(stamp + spec.depth_stamp_offset, spec.depth_frame_id)
        if depth_conn is not None:
            if spec.depth_encoding == "32FC1":
                values = depth_mm.astype(np.float32) / 1000.0
                values[depth_mm == 0] = np.nan
            else:
                values = depth_mm
            msg = types["sensor_msgs/msg/Image"](
                header=dheader,
                height=h // 2,
                width=w // 2,
                encoding=spec.depth_encoding,
                is_bigendian=0,
                step=values.strides[0],
                data=np.frombuffer(values.astype(values.dtype.newbyteorder("<")).tobytes(), np.uint8),
            )
            bag.write(depth_conn, stamp + LATENCY + 200_000, msg)
        if cdepth_conn is not None:
            msg = types["sensor_msgs/msg/CompressedImage"](
                header=dheader,
                format="16UC1; compressedDepth png",
                data=np.frombuffer(compressed_depth_payload(depth_mm), np.uint8),
            )
            bag.write(cdepth_conn, stamp + LATENCY + 300_000, msg)
        if info_conn is None:
            continue
        fx = 0.8 * w
        info_kwargs = {
            "header": header,
            "height": h,
            "width": w,
            "distortion_model": "plumb_bob",
            ("D" if bag.ros1 else "d"): np.array([-0.28, 0.07, 0.0, 0.0, 0.0]),
            ("K" if bag.ros1 else "k"): np.array([fx, 0, w / 2, 0, fx, h / 2, 0, 0, 1.0]),
            ("R" if bag.ros1 else "r"): np.eye(3).ravel(),
            ("P" if bag.ros1 else "p"): np.array([fx, 0, w / 2, 0, 0, fx, h / 2, 0, 0, 0, 1.0, 0]),
            "binning_x": 0,
            "binning_y": 0,
            "roi": types["sensor_msgs/msg/RegionOfInterest"](
                x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
            ),
        }
        bag.write(info_conn, stamp + LATENCY + 1_000_000, types["sensor_msgs/msg/CameraInfo"](**info_kwargs))
    return count
