"""Several cameras, each with its own anonymizer_node (`<ns>/anonymizer`) in the camera's
namespace: <ns>/<image> -> <ns>/<image>/anonymized for every ns in `cameras`; camera_info,
instances and the output follow the input (image:=color/image_raw -> <ns>/color/camera_info in,
<ns>/color/image_raw/anonymized out; image:=image_raw/compressed ->
<ns>/image_raw/anonymized/compressed; output:=private/image -> <ns>/private/image). `image` and
`output` are relative, so each camera reads and writes its own namespace.

Lifecycle, use_sim_time and log_level as in anonymizer.launch.py (launch drives the lifecycle).

  ros2 launch inspire_ros multi_camera.launch.py cameras:=front,left,right
  ros2 launch inspire_ros multi_camera.launch.py cameras:=front,rear image:=color/image_raw use_sim_time:=true
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from inspire_ros.ros.launch_common import anonymizer_node, node_arguments


def _relative(context, name: str) -> str:
    value = LaunchConfiguration(name).perform(context).strip()
    if value.startswith("/"):
        raise ValueError(
            f"launch argument '{name}': {value} is absolute, so every camera would use that one topic; "
            "give it relative to the camera namespaces"
        )
    return value


def _nodes(context):
    names = [n.strip().strip("/") for n in LaunchConfiguration("cameras").perform(context).split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"launch argument 'cameras': give distinct camera namespaces, got {names}")
    remappings = [("image_raw", _relative(context, "image"))]
    output = _relative(context, "output")
    if output:
        remappings.append(("image_raw/anonymized", output))
    return [anonymizer_node(context, ns, remappings) for ns in names]


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "cameras", default_value="front,rear", description="camera namespaces, comma-separated"
            ),
            DeclareLaunchArgument("image", default_value="image_raw", description="image topic inside each namespace"),
            DeclareLaunchArgument(
                "output",
                default_value="",
                description="anonymized topic inside each namespace (empty: <image>/anonymized)",
            ),
            *node_arguments("the nodes"),
            OpaqueFunction(function=_nodes),
        ]
    )
