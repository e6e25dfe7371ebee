"""Several cameras, each with its own anonymizer_node in the camera's namespace:
<ns>/<image> -> <ns>/<image>/anonymized for every ns in `cameras`; camera_info, instances and
the output follow the input (image:=color/image_raw -> <ns>/color/camera_info in,
<ns>/color/image_raw/anonymized out; image:=image_raw/compressed -> <ns>/image_raw/anonymized/compressed).

  ros2 launch inspire_ros multi_camera.launch.py cameras:=front,left,right
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare


def _nodes(context):
    names = [n.strip() for n in LaunchConfiguration("cameras").perform(context).split(",") if n.strip()]
    return [
        LifecycleNode(
            package="inspire_ros",
            executable="anonymizer_node",
            name="anonymizer",
            namespace=ns,
            parameters=[LaunchConfiguration("params_file"), {"config_file": LaunchConfiguration("config_file")}],
            remappings=[("image_raw", LaunchConfiguration("image"))],
            output="screen",
        )
        for ns in names
    ]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "cameras", default_value="front,rear", description="camera namespaces, comma-separated"
            ),
            DeclareLaunchArgument("image", default_value="image_raw", description="image topic inside each namespace"),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([FindPackageShare("inspire_ros"), "config", "anonymizer_node.yaml"]),
                description="ROS parameters shared by the nodes",
            ),
            DeclareLaunchArgument(
                "config_file", default_value="", description="anonymizer config (empty: config/default.yaml)"
            ),
            OpaqueFunction(function=_nodes),
        ]
    )
