"""Reading and rewriting bags in the bag tests (test/bag)."""

from __future__ import annotations

from pathlib import Path

from rosbags.typesys import Stores, get_typestore

from inspire_ros.bag.sanitize import SanitizeOptions
from inspire_ros.bag.sink import BagSink, plan_output
from inspire_ros.bag.source import BagSource

QUIET = SanitizeOptions(progress=False)


def by_topic(path: Path) -> dict[str, list[tuple[int, bytes]]]:
    out: dict[str, list[tuple[int, bytes]]] = {}
    with BagSource(path) as source:
        for conn, t, data in source.messages():
            out.setdefault(conn.topic, []).append((t, bytes(data)))
    return out


def image_messages(path: Path, topic: str) -> list:
    with BagSource(path) as source:
        conn = next(c for c in source.connections if c.topic == topic)
        store = get_typestore(Stores.ROS1_NOETIC if source.format.kind == "rosbag1" else Stores.ROS2_HUMBLE)
        ros1 = source.format.kind == "rosbag1"
        return [
            store.deserialize_ros1(d, conn.msgtype) if ros1 else store.deserialize_cdr(d, conn.msgtype)
            for c, _, d in source.messages()
            if c.topic == topic
        ]


def rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy `src` to `dst`, passing every message through edit(topic, index, data) -> bytes | None."""
    with BagSource(src) as source:
        sink = BagSink(plan_output(source.format, dst), dst)
        counts: dict[str, int] = {}
        for conn, t, data in source.messages():
            i = counts[conn.topic] = counts.get(conn.topic, -1) + 1
            new = edit(conn.topic, i, bytes(data))
            if new is not None:
                sink.write(sink.add(conn), t, new)
        sink.commit()
    return dst
