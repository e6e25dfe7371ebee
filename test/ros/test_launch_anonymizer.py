"""launch_testing: anonymizer.launch.py brings up a node that answers a frame with an anonymized
one. Runs in a ROS 2 CI with launch/launch_testing installed (`colcon test`, registered in
CMakeLists.txt with add_launch_test); skipped here, where `launch` cannot be installed from PyPI."""

from __future__ import annotations

import unittest

import pytest

pytest.importorskip(
    "launch_testing",
    reason="launch_testing is not installable from PyPI; runs under colcon test in a ROS 2 install",
)

import cv2  # noqa: E402
import launch  # noqa: E402
import launch_testing.actions  # noqa: E402
import numpy as np  # noqa: E402
import rclpy  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from launch_ros.substitutions import FindPackageShare  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from inspire_ros.bench.harness import Client, image_msg, stamp_ns  # noqa: E402
from inspire_ros.paths import pets09_video  # noqa: E402


@pytest.mark.launch_test
def generate_test_description():
    anonymizer = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource([FindPackageShare("inspire_ros"), "/launch/anonymizer.launch.py"]),
        launch_arguments={"namespace": "launch_test", "image": "image_raw"}.items(),
    )
    return launch.LaunchDescription([anonymizer, launch_testing.actions.ReadyToTest()])


class TestAnonymizerLaunch(unittest.TestCase):
    def test_a_frame_comes_back_anonymized(self):
        client = Client("launch_test_client")
        try:
            pub = client.publisher(Image, "/launch_test/image_raw", reliable=True)
            out = client.subscribe(Image, "/launch_test/image_raw/anonymized")
            client.wait_matched(pub, 60)
            ok, frame = cv2.VideoCapture(str(pets09_video())).read()
            assert ok, "PETS09 vtest.avi not found: set INSPIRE_SHARED"
            msg = image_msg(frame, "bgr8", stamp_ns=123)
            client.wait(lambda: (pub.publish(msg), len(out) > 0)[1], 60, "an anonymized frame")
            got = out.messages()[0]
            assert stamp_ns(got) == 123 and got.encoding == "bgr8"
            assert not np.array_equal(np.frombuffer(got.data, np.uint8).reshape(frame.shape), frame)
        finally:
            client.close()
            rclpy.try_shutdown()


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    def test_exit_code(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
