"""BagSource on rosbags' AnyReader: what it keeps working around (see docs/rosbags-*.md)."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import Writer
from rosbags.rosbag2.metadata import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.typesys import Stores, get_typestore

from inspire_ros.bag.definitions import default_typestore, image_typestore
from inspire_ros.bag.errors import BagError
from inspire_ros.bag.source import BagSource

STORE = get_typestore(Stores.LATEST)
INF = QosTime(sec=9223372036, nsec=854775807)
QOS = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.VOLATILE, INF, INF,
          QosLiveliness.AUTOMATIC, INF, False)  # fmt: skip


def _string(text: str) -> bytes:
    return STORE.serialize_cdr(STORE.types["std_msgs/msg/String"](data=text), "std_msgs/msg/String")


def _chatter_bag(path: Path, n: int = 3) -> Path:
    with Writer(path, version=8) as writer:
        conn = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=STORE, offered_qos_profiles=[QOS])
        for i in range(n):
            writer.write(conn, i, _string(f"hi {i}"))
    return path


def test_storage_qos_differing_from_metadata_loses_no_message(tmp_path):
    # As rosbag2's converter leaves v4/v5 bags: QoS in metadata.yaml, an empty string in the file.
    bag = _chatter_bag(tmp_path / "bag")
    db = sqlite3.connect(bag / "bag.db3")
    db.execute("UPDATE topics SET offered_qos_profiles = ''")
    db.commit()
    db.close()
    with BagSource(bag) as source:
        (conn,) = source.connections
        assert conn.ext.offered_qos_profiles == [QOS]  # metadata.yaml's, as recorded
        got = list(source.messages())
        assert [(c, t, bytes(d)) for c, t, d in got] == [(conn, i, _string(f"hi {i}")) for i in range(3)]
        assert len(list(source.messages([conn]))) == 3


def test_the_reader_follows_the_bag_not_the_suffix(tmp_path):
    folder = _chatter_bag(tmp_path / "run.bag")  # a rosbag2 folder AnyReader alone takes for ROS 1
    ros1 = tmp_path / "RUN.BAG"  # a ROS 1 file AnyReader alone takes for rosbag2
    store1 = get_typestore(Stores.ROS1_NOETIC)
    with Writer1(ros1) as writer:
        conn = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=store1)
        writer.write(conn, 5, store1.serialize_ros1(store1.types["std_msgs/msg/String"](data="x"), conn.msgtype))
    for path, kind, count in ((folder, "rosbag2", 3), (ros1, "rosbag1", 1)):
        with BagSource(path) as source:
            assert source.format.kind == kind and len(list(source.messages())) == count


def test_a_definition_rosbags_cannot_parse_still_opens_the_bag(tmp_path):
    # rosbag2 stores a service event topic's definition as .srv text, which AnyReader's typestore
    # rejects (failing the whole bag); the image topic beside it still gets its own definition.
    image_def = STORE.generate_msgdef("sensor_msgs/msg/Image", ros_version=2)[0]
    with Writer(tmp_path / "bag", version=9) as writer:
        srv = writer.add_connection(
            "/add/_service_event", "example_interfaces/srv/AddTwoInts_Event",
            msgdef="int64 a\nint64 b\n---\nint64 sum\n", rihs01="RIHS01_" + "0" * 64,
        )  # fmt: skip
        img = writer.add_connection("/cam", "sensor_msgs/msg/Image", typestore=STORE)
        writer.write(srv, 1, b"\x00\x01\x00\x00")
        t = STORE.types
        header = t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id="")
        frame = t["sensor_msgs/msg/Image"](header, 1, 1, "mono8", 0, 1, np.zeros(1, np.uint8))
        writer.write(img, 2, STORE.serialize_cdr(frame, img.msgtype))
    with BagSource(tmp_path / "bag") as source:
        assert source.typestore is None  # AnyReader could not build one
        assert len(list(source.messages())) == 2
        cam = next(c for c in source.connections if c.topic == "/cam")
        assert cam.msgdef.data == image_def
        store = image_typestore(cam, default_typestore(False), source.typestore)
        assert "sensor_msgs/msg/Image" in store.types


def test_a_damaged_bag_names_rosbags_own_error(tmp_path):
    bag = _chatter_bag(tmp_path / "bag")
    data = (bag / "bag.db3").read_bytes()
    (bag / "bag.db3").write_bytes(data[: len(data) // 2])
    with pytest.raises(BagError, match=r"cannot open .* as a rosbag2 bag: ReaderError: .*ros2 bag reindex"):
        BagSource(bag)
