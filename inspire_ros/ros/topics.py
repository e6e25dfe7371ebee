"""Which topics a camera uses: input, anonymized output, instances and camera_info.

Pure naming rules (no rclpy), so launch checks and tests can use them too. Names stay relative,
so a node namespace or a remapping moves them all together.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

RAW, COMPRESSED, AUTO = "raw", "compressed", "auto"
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"


@dataclass(frozen=True)
class CameraTopics:
    input: str
    output: str
    kind: str  # raw | compressed | auto (decided from the ROS graph once the input appears)
    instances: str
    camera_info_in: str
    camera_info_out: str


def output_topic(input_topic: str, suffix: str) -> str:
    """`<input>/<suffix>`; for a compressed transport topic (`.../compressed`) the suffix goes
    before the transport name, so image_transport subscribers of `<base>/<suffix>` find it."""
    base = _transport_base(input_topic)
    if base != input_topic:
        return posixpath.join(base, suffix, "compressed")
    return posixpath.join(input_topic, suffix)


def camera_info_topic(image_topic: str) -> str:
    """image_transport's rule: camera_info is a sibling of the image topic (transport removed)."""
    return posixpath.join(posixpath.dirname(_transport_base(image_topic)), "camera_info")


def kind_from_name(topic: str) -> str:
    return COMPRESSED if posixpath.basename(topic) == "compressed" else AUTO


def kind_from_types(types: list[str]) -> str | None:
    """The camera kind from the types a topic is advertised with, None when it is neither."""
    if IMAGE_TYPE in types:
        return RAW
    if COMPRESSED_TYPE in types:
        return COMPRESSED
    return None


def camera_topics(inputs: list[str], outputs: list[str], kinds: list[str], suffix: str) -> list[CameraTopics]:
    """One CameraTopics per input. `outputs` and `kinds` are empty (defaults), one value for all,
    or one per input; a bad length or value raises ValueError naming the parameter."""
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
    if not suffix.strip("/"):
        raise ValueError("parameter 'output_suffix' must not be empty: the output would be the input")
    cams = []
    for i, topic in enumerate(inputs):
        kind = kinds[0] if len(kinds) == 1 else kinds[i] if kinds else AUTO
        if kind == AUTO:
            kind = kind_from_name(topic)
        out = outputs[i] if outputs else output_topic(topic, suffix.strip("/"))
        if out == topic:
            raise ValueError(f"parameter 'outputs': camera {topic} would publish onto its own input")
        cams.append(
            CameraTopics(
                input=topic,
                output=out,
                kind=kind,
                instances=posixpath.join(_transport_base(out), "instances"),
                camera_info_in=camera_info_topic(topic),
                camera_info_out=camera_info_topic(out),
            )
        )
    return cams


def _transport_base(topic: str) -> str:
    """The image topic without a trailing `compressed` transport name."""
    base, leaf = posixpath.split(topic)
    return base if leaf == "compressed" and base else topic
