"""What the launch files (launch/*.launch.py) share: the launch arguments of the node's
parameters and lifecycle, true/false launch arguments, and the anonymizer_node action.

Imported by the launch files only, where ROS 2 `launch` and `launch_ros` are installed (the
package is installed beside them by both pip and colcon).
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def flag(context, name: str) -> bool:
    """The true/false launch argument `name`; ValueError for anything else."""
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"launch argument '{name}': {value!r} is not true or false")
    return value in _TRUE


def node_arguments(nodes: str = "the node") -> list[DeclareLaunchArgument]:
    """params_file, config_file, autostart, use_sim_time and log_level, with their defaults;
    `nodes` names what they apply to in the descriptions ("the node", "the nodes")."""
    return [
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([FindPackageShare("inspire_ros"), "config", "anonymizer_node.yaml"]),
            description=f"ROS parameters of {nodes}",
        ),
        DeclareLaunchArgument(
            "config_file", default_value="", description="anonymizer config (empty: config/default.yaml)"
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            description=f"launch configures and activates {nodes} (false: leave it to a lifecycle manager)",
        ),
        DeclareLaunchArgument(
            "use_sim_time", default_value="false", description="use /clock (bag playback, simulation)"
        ),
        DeclareLaunchArgument("log_level", default_value="info", description="debug | info | warn | error | fatal"),
    ]


def anonymizer_node(context, namespace, remappings: list[tuple[str, str]]) -> LifecycleNode:
    """anonymizer_node in `namespace`, with the arguments of `node_arguments`: launch drives its
    lifecycle (the node's own `autostart` parameter is false so the two never both transition it)."""
    return LifecycleNode(
        package="inspire_ros",
        executable="anonymizer_node",
        name="anonymizer",
        namespace=namespace,
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "config_file": LaunchConfiguration("config_file"),
                "use_sim_time": flag(context, "use_sim_time"),
                "autostart": False,  # launch owns the lifecycle (below)
            },
        ],
        remappings=remappings,
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
        autostart=flag(context, "autostart"),
        output="screen",
    )
