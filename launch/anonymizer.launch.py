"""One camera: anonymizer_node on <namespace>/<image>, publishing <namespace>/<image>/anonymized.

The node derives every other topic from the (remapped) input, image_transport style:
  image:=color/image_raw             -> color/image_raw/anonymized, camera_info from color/camera_info
  image:=image_raw/compressed        -> image_raw/anonymized/compressed
  output:=blurred/image              -> that topic instead (its instances and camera_info beside it)

ros2 launch inspire_ros anonymizer.launch.py namespace:=front image:=image_raw
ros2 launch inspire_ros anonymizer.launch.py params_file:=/path/to/my_params.yaml config_file:=/path/to/anonymizer.yaml
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare


def _node(context):
    remappings = [("image_raw", LaunchConfiguration("image").perform(context))]
    output = LaunchConfiguration("output").perform(context)
    if output:  # only when given: the default output follows the input (and its transport)
        remappings.append(("image_raw/anonymized", output))
    return [
        LifecycleNode(
            package="inspire_ros",
            executable="anonymizer_node",
            name="anonymizer",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), {"config_file": LaunchConfiguration("config_file")}],
            remappings=remappings,
            output="screen",
        )
    ]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="", description="the camera's namespace"),
            DeclareLaunchArgument(
                "image",
                default_value="image_raw",
                description="input image topic (raw, or <base>/compressed for jpeg/png)",
            ),
            DeclareLaunchArgument(
                "output",
                default_value="",
                description="anonymized raw image topic (empty: <image>/anonymized, image_transport style)",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([FindPackageShare("inspire_ros"), "config", "anonymizer_node.yaml"]),
                description="ROS parameters of the node",
            ),
            DeclareLaunchArgument(
                "config_file", default_value="", description="anonymizer config (empty: config/default.yaml)"
            ),
            OpaqueFunction(function=_node),
        ]
    )
