"""The sanitize marker: how an output bag says that `inspire bag sanitize` wrote it, from which
input, and with which report, so that `inspire bag verify` can tell a sanitized bag from a copy.

rosbag2 outputs carry it in their metadata's custom_data under MARKER_KEY: in metadata.yaml and
in the metadata the storage file embeds (so a bare .mcap or .db3 output carries it too). ROS 1
bags have no place for metadata: there the marker is one latched std_msgs/String message on
MARKER_TOPIC at the bag's first log time, and a ROS 1 input's own marker topic (the input was
itself an output) is not copied. The marker is a JSON object:

    format          1
    tool            "inspire_ros <version>"
    input_sha256    sha256 over the input's messages as read (topic, type, log time, bytes)
    report_sha256   sha256 of the report (`report_sha256`), written or not
    topics          {topic: role} (anonymize, copy, image-not-selected, excluded, ...)
    max_frame_pixels, frames, frames_failed
    depth           {topic: policy} of the depth topics (copy, drop, invalidate)

It records, it does not prove: anyone can write one by hand. It catches a verify run on the
wrong pair of bags, on an unsanitized copy (`verify IN IN`) and with another run's report.
"""

from __future__ import annotations

import hashlib
import json
import struct

from rosbags.interfaces import Connection

MARKER_KEY = "inspire_ros.sanitize"
MARKER_TOPIC = "/inspire_ros/sanitize"
MARKER_TYPE = "std_msgs/msg/String"
FORMAT = 1


class InputDigest:
    """sha256 over a bag's messages in the order they are read."""

    def __init__(self):
        self._h = hashlib.sha256()

    def add(self, conn: Connection, timestamp: int, data: bytes | memoryview) -> None:
        self._h.update(f"{conn.topic}\0{conn.msgtype}\0{int(timestamp)}\0{len(data)}\0".encode())
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def report_sha256(report: dict) -> str:
    """The digest of a report as JSON (after a JSON round trip, so the dict sanitize built and
    the file verify reads give the same digest)."""
    canonical = json.dumps(json.loads(json.dumps(report)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def make(
    tool: str,
    input_sha256: str,
    report: dict,
    topics: dict[str, str],
    max_frame_pixels: int,
    frames: int,
    failed: int,
    depth: dict[str, str] | None = None,
) -> str:
    return json.dumps(
        {
            "depth": depth or {},
            "format": FORMAT,
            "tool": tool,
            "input_sha256": input_sha256,
            "report_sha256": report_sha256(report),
            "topics": topics,
            "max_frame_pixels": max_frame_pixels,
            "frames": frames,
            "frames_failed": failed,
        },
        sort_keys=True,
    )


def parse(text: str | None) -> tuple[dict | None, str | None]:
    """(marker, None), or (None, why not) for a missing or unreadable marker."""
    if text is None:
        return None, "no marker"
    try:
        marker = json.loads(text)
    except ValueError:
        return None, "a marker that is not JSON"
    if not isinstance(marker, dict) or marker.get("format") != FORMAT or not isinstance(marker.get("topics"), dict):
        return None, "a marker of an unknown format"
    return marker, None


def is_marker_connection(conn: Connection, ros1: bool) -> bool:
    return ros1 and conn.topic == MARKER_TOPIC


def ros1_string(data: bytes | memoryview) -> str | None:
    """The text of a ROS 1 std_msgs/String message (uint32 length, then the bytes)."""
    data = bytes(data)
    if len(data) < 4:
        return None
    (n,) = struct.unpack_from("<I", data)
    return data[4 : 4 + n].decode("utf-8", "replace") if len(data) == 4 + n else None
