"""One camera: anonymizer_node on <namespace>/<image>, publishing <namespace>/<image>/anonymized.

ros2 launch inspire_ros anonymizer.launch.py namespace:=front image:=image_raw
ros2 launch inspire_ros anonymizer.launch.py params_file:=/path/to/my_params.yaml config_file:=/path/to/anonymizer.yaml
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    image = LaunchConfiguration("image")
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="", description="the camera's namespace"),
            DeclareLaunchArgument("image", default_value="image_raw", description="input image topic"),
            DeclareLaunchArgument("output", default_value=[image, "/anonymized"], description="anonymized image topic"),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([FindPackageShare("inspire_ros"), "config", "anonymizer_node.yaml"]),
                description="ROS parameters of the node",
            ),
            DeclareLaunchArgument(
                "config_file", default_value="", description="anonymizer config (empty: config/default.yaml)"
            ),
            LifecycleNode(
                package="inspire_ros",
                executable="anonymizer_node",
                name="anonymizer",
                namespace=LaunchConfiguration("namespace"),
                parameters=[LaunchConfiguration("params_file"), {"config_file": LaunchConfiguration("config_file")}],
                remappings=[("image_raw", image), ("image_raw/anonymized", LaunchConfiguration("output"))],
                output="screen",
            ),
        ]
    )
