"""The node runs SVIA the same way as INSPIRE: method is one parameter."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import Image

from inspire_ros.bench.harness import NodeProcess, image_msg, stamp_ns
from inspire_ros_msgs.msg import InstanceArray

from support import CAMVID
from support.nodes import active

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

TOPIC = "svia_cam/image_raw"


@pytest.fixture(scope="module")
def node(tmp_path_factory, ros_client):
    proc = NodeProcess({"cameras": [TOPIC], "method": "hybrid", "seed": 0}, tmp_path_factory.mktemp("svia"), "svia")
    with active(proc):
        yield proc


def test_hybrid_frames_come_back_with_scene_and_instances_replaced_and_the_rest_untouched(node, ros_client):
    c = ros_client
    pub = c.publisher(Image, TOPIC, reliable=True)
    out, instances = (
        c.subscribe(Image, f"{TOPIC}/anonymized"),
        c.subscribe(InstanceArray, f"{TOPIC}/anonymized/instances"),
    )
    c.wait_matched(pub)
    time.sleep(1.0)
    frame = cv2.imread(str(CAMVID / "test" / "images" / "0001TP_009240.jpg"))
    msg = image_msg(frame, "bgr8", stamp_ns=5_000_000_123, frame_id="front")
    deadline = time.monotonic() + 60
    while not len(out) or not len(instances):
        assert time.monotonic() < deadline, node.log()
        pub.publish(msg)
        try:
            c.wait(lambda: len(out) > 0 and len(instances) > 0, 5)
        except TimeoutError:
            continue
    got, inst = out.messages()[0], instances.messages()[0]
    assert stamp_ns(got) == stamp_ns(msg) and got.header.frame_id == "front" and inst.method == "hybrid"
    result = np.frombuffer(got.data, np.uint8).reshape(frame.shape)
    categories = {i.category: i.class_id for i in inst.instances}
    assert {"road", "building"} <= set(categories) and categories["road"] == 255 and "person" in categories
    inside = np.zeros(frame.shape[:2], bool)
    for i in inst.instances:
        inside[i.y0 : i.y1, i.x0 : i.x1] = True
    assert np.array_equal(result[~inside], frame[~inside])
    assert (result != frame).any(2).sum() >= sum(i.mask_area for i in inst.instances if i.class_id == 255) * 0.9
