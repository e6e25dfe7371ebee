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
from launch.substitutions import LaunchConfiguration

from inspire_ros.ros.launch_common import anonymizer_node, node_arguments


def _node(context):
    remappings = [("image_raw", LaunchConfiguration("image").perform(context))]
    output = LaunchConfiguration("output").perform(context)
    if output:  # only when given: the default output follows the input (and its transport)
        remappings.append(("image_raw/anonymized", output))
    return [anonymizer_node(context, LaunchConfiguration("namespace"), remappings)]


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
            *node_arguments("the node"),
            OpaqueFunction(function=_node),
        ]
    )
