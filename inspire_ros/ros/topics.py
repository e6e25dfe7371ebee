"""Which topics a camera uses: input, anonymized output, instances and camera_info.

Pure naming rules (no rclpy), so launch checks and tests can use them too. The rules follow
image_transport: a transport topic is `<base>/<transport>` (`front/image_raw/compressed`), its
camera_info is the sibling of the base (`front/camera_info`), and the anonymized twin is
`<base>/anonymized[/<transport>]` with `<base>/anonymized/instances` (and `/detections`) beside it.

Names are derived from the input *as resolved* (namespace and remapping applied, `resolve`):
`-r image_raw:=color/image_raw` moves camera_info, output and instances with the input. A derived
name the user remapped explicitly (by the name the node would give it without remapping, e.g.
`image_raw/anonymized`) keeps that remapping.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass

RAW, COMPRESSED, AUTO = "raw", "compressed", "auto"
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"

# image_transport transports (the topic suffix each publishes on) and their message types. The
# node decodes `raw` and `compressed` (jpeg/png); the others are refused at configure.
TRANSPORTS = {
    RAW: IMAGE_TYPE,
    COMPRESSED: COMPRESSED_TYPE,
    "compressedDepth": COMPRESSED_TYPE,  # compressed_depth_image_transport
    "theora": "theora_image_transport/msg/Packet",
    "zstd": COMPRESSED_TYPE,  # zstd_image_transport: zstd-compressed serialized Image
    "ffmpeg": "ffmpeg_image_transport_msgs/msg/FFMPEGPacket",  # ffmpeg_image_transport
    "h264": "h264_msgs/msg/Packet",  # h264_image_transport
    "foxglove": "foxglove_msgs/msg/CompressedVideo",  # foxglove_compressed_video_transport
}
DECODED = (RAW, COMPRESSED)
DEPTH = ("compressedDepth",)

# (name, only_expand) -> the fully qualified name; only_expand=True: namespace only, no remapping.
Resolver = Callable[[str, bool], str]


class TransportError(ValueError):
    """An input on a transport the node cannot decode (the message says what to do instead)."""


@dataclass(frozen=True)
class CameraTopics:
    input: str  # as given in `cameras`
    output: str
    kind: str  # raw | compressed | auto (decided from the ROS graph once the input appears)
    instances: str
    camera_info_in: str
    camera_info_out: str
    resolved: str = ""  # the input after namespace and remapping (as given without a resolver)
    detections: str = ""  # vision_msgs/Detection2DArray beside instances (publish_detections)


def split_transport(topic: str) -> tuple[str, str]:
    """(base, transport): `a/image_raw/zstd` -> (`a/image_raw`, `zstd`); a topic whose last name
    is no transport is a raw topic: (topic, `raw`)."""
    base, leaf = posixpath.split(topic.rstrip("/"))
    if leaf in TRANSPORTS and leaf != RAW and base and base != "/":
        return base, leaf
    return topic, RAW


def output_topic(input_topic: str, suffix: str) -> str:
    """`<input>/<suffix>`; for a transport topic (`<base>/compressed`) the suffix goes before the
    transport name (`<base>/<suffix>/compressed`), so image_transport subscribers of
    `<base>/<suffix>` find it."""
    base, transport = split_transport(input_topic)
    if transport != RAW:
        return posixpath.join(base, suffix, transport)
    return posixpath.join(input_topic, suffix)


def camera_info_topic(image_topic: str) -> str:
    """image_transport's rule: camera_info is a sibling of the image topic (transport removed)."""
    return posixpath.join(posixpath.dirname(split_transport(image_topic)[0]), "camera_info")


def instances_topic(output: str) -> str:
    return posixpath.join(split_transport(output)[0], "instances")


def detections_topic(output: str) -> str:
    return posixpath.join(split_transport(output)[0], "detections")


def kind_from_name(topic: str) -> str:
    transport = split_transport(topic)[1]
    return AUTO if transport == RAW else transport


def kind_from_types(types: list[str]) -> str | None:
    """The camera kind from the types a topic is advertised with, None when it is neither."""
    if IMAGE_TYPE in types:
        return RAW
    if COMPRESSED_TYPE in types:
        return COMPRESSED
    return None


def refusal(topic: str, transport: str) -> str:
    """Why an input on `transport` is not anonymized, and the way in (image_transport republish)."""
    if transport in DEPTH:
        return (
            f"camera {topic}: transport '{transport}' is a depth image; depth topics are not anonymized "
            "by the node (remove it from 'cameras')"
        )
    base = split_transport(topic)[0]
    return (
        f"camera {topic}: transport '{transport}' cannot be decoded by the node (it reads raw and "
        f"compressed jpeg/png); republish it as raw and list that topic instead: ros2 run image_transport "
        f"republish {transport} raw --ros-args -r in/{transport}:={topic} -r out:={base}/decoded"
    )


def _expand(name: str, only_expand: bool) -> str:
    return name


def camera_topics(
    inputs: list[str],
    outputs: list[str],
    kinds: list[str],
    suffix: str,
    resolve: Resolver | None = None,
) -> list[CameraTopics]:
    """One CameraTopics per input. `outputs` and `kinds` are empty (defaults), one value for all,
    or one per input; a bad length or value raises ValueError naming the parameter, an input on a
    transport the node cannot decode raises TransportError.

    `resolve` (the node's `resolve_topic_name`) makes every name fully qualified: the input with
    its remapping, the others derived from it unless remapped themselves. Without it names stay
    as given (relative)."""
    resolve = resolve or _expand
    if not inputs:
        raise ValueError("parameter 'cameras': give at least one input image topic")
    if len(set(inputs)) != len(inputs):
        raise ValueError(f"parameter 'cameras': topics repeat: {inputs}")
    if outputs and len(outputs) != len(inputs):
        raise ValueError(f"parameter 'outputs': {len(outputs)} topics for {len(inputs)} cameras; give one per camera")
    if len(kinds) not in (0, 1, len(inputs)):
        raise ValueError(f"parameter 'input_types': {len(kinds)} values for {len(inputs)} cameras; give 1 or one each")
    for k in kinds:
        if k not in (RAW, COMPRESSED, AUTO):
            raise ValueError(f"parameter 'input_types': {k!r} is not one of raw, compressed, auto")
    suffix = suffix.strip("/")
    if not suffix:
        raise ValueError("parameter 'output_suffix' must not be empty: the output would be the input")

    def derived(declared: str, from_input: str) -> str:
        """`declared` (the name without input remapping) when a rule remaps it, else `from_input`."""
        remapped = resolve(declared, False)
        return remapped if remapped != resolve(declared, True) else resolve(from_input, True)

    cams = []
    for i, topic in enumerate(inputs):
        resolved = resolve(topic, False)
        transport = split_transport(resolved)[1]
        if transport not in DECODED:
            raise TransportError(refusal(resolved, transport))
        kind = kinds[0] if len(kinds) == 1 else kinds[i] if kinds else AUTO
        if kind == AUTO:
            kind = kind_from_name(resolved)
        if outputs:
            out = resolve(outputs[i], False)
        else:
            out = derived(output_topic(topic, suffix), output_topic(resolved, suffix))
        if out == resolved:
            raise ValueError(f"parameter 'outputs': camera {topic} would publish onto its own input")
        if outputs:
            instances, info_out = resolve(instances_topic(out), True), resolve(camera_info_topic(out), True)
            detections = resolve(detections_topic(out), True)
        else:
            declared = output_topic(topic, suffix)
            instances = derived(instances_topic(declared), instances_topic(out))
            detections = derived(detections_topic(declared), detections_topic(out))
            info_out = derived(camera_info_topic(declared), camera_info_topic(out))
        info_in = derived(camera_info_topic(topic), camera_info_topic(resolved))
        if info_out == info_in:
            raise ValueError(
                f"parameter 'outputs': camera {topic} would publish camera_info onto its input {info_in} "
                "(image_transport puts camera_info beside the image): give the output a topic of its own namespace"
            )
        cams.append(
            CameraTopics(
                input=topic,
                output=out,
                kind=kind,
                instances=instances,
                camera_info_in=info_in,
                camera_info_out=info_out,
                resolved=resolved if resolve is not _expand else topic,
                detections=detections,
            )
        )
    outs = [c.output for c in cams]
    if len(set(outs)) != len(outs):
        raise ValueError(f"parameter 'outputs': two cameras would publish onto one topic: {outs}")
    return cams
