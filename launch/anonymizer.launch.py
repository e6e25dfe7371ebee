"""One camera: anonymizer_node on <namespace>/<image>, publishing <namespace>/<image>/anonymized.

The node derives every other topic from the (remapped) input, image_transport style:
  image:=color/image_raw             -> color/image_raw/anonymized, camera_info from color/camera_info
  image:=image_raw/compressed        -> image_raw/anonymized/compressed
  output:=blurred/image              -> that topic instead (its instances and camera_info beside it)

Lifecycle: launch drives it (launch_ros LifecycleNode autostart, Jazzy and later); the node's
own `autostart` parameter is set false so the two never both transition it.
  autostart:=true   (default) launch configures and activates the node
  autostart:=false  the node waits unconfigured for a lifecycle manager (ros2 lifecycle set ...)

ros2 launch inspire_ros anonymizer.launch.py namespace:=front image:=image_raw
ros2 launch inspire_ros anonymizer.launch.py use_sim_time:=true log_level:=debug autostart:=false
ros2 launch inspire_ros anonymizer.launch.py params_file:=/path/to/my_params.yaml config_file:=/path/to/anonymizer.yaml
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _flag(context, name: str) -> bool:
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"launch argument '{name}': {value!r} is not true or false")
    return value in _TRUE


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
            parameters=[
                LaunchConfiguration("params_file"),
                {
                    "config_file": LaunchConfiguration("config_file"),
                    "use_sim_time": _flag(context, "use_sim_time"),
                    "autostart": False,  # launch owns the lifecycle (below)
                },
            ],
            remappings=remappings,
            ros_arguments=["--log-level", LaunchConfiguration("log_level")],
            autostart=_flag(context, "autostart"),
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
            DeclareLaunchArgument(
                "autostart",
                default_value="true",
                description="launch configures and activates the node (false: leave it to a lifecycle manager)",
            ),
            DeclareLaunchArgument(
                "use_sim_time", default_value="false", description="use /clock (bag playback, simulation)"
            ),
            DeclareLaunchArgument("log_level", default_value="info", description="debug | info | warn | error | fatal"),
            OpaqueFunction(function=_node),
        ]
    )
