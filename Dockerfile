# syntax=docker/dockerfile:1
# inspire_ros as a ROS 2 Kilted package: rosdep from both package.xml files, colcon build, and the
# models in the install space (share/inspire_ros/models, searched after $INSPIRE_MODEL_DIR).
#   docker build --build-context models=../shared/models -t inspire_ros .   # models baked in
#   docker build -t inspire_ros .        # no models: mount them, -v DIR:/models -e INSPIRE_MODEL_DIR=/models
#   docker run --rm --net=host inspire_ros                                   # node, autostarted
# The default config needs yolox_nano_dynamic.onnx (no download URL: copy it); the manifest's
# other third-party models can be fetched in a container: `ros2 run inspire_ros inspire models fetch NAME`.
#
# GPU: this image runs onnxruntime on CPU. For CUDA/TensorRT, swap the exec_depend
# python3-onnxruntime-pip for python3-onnxruntime-gpu-pip in package.xml (never both: same module
# folder), give the image the CUDA/cuDNN (and TensorRT) runtime that onnxruntime-gpu release
# expects, run with `--gpus all` (NVIDIA Container Toolkit), and set runtime.providers in the
# anonymizer config (e.g. [tensorrt, cuda, cpu]); the node logs the provider it really got.

# Empty unless `--build-context models=DIR` replaces it.
FROM scratch AS models

FROM ros:kilted
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /ws
# colcon does not look for packages inside another package: the messages get their own entry.
COPY inspire_ros_msgs src/inspire_ros_msgs
COPY . src/inspire_ros
# onnxruntime and rosbags come through rosdep's pip keys; Ubuntu's Python is externally managed.
ENV PIP_BREAK_SYSTEM_PACKAGES=1
RUN apt-get update && rosdep update --rosdistro kilted \
 && rosdep install -y --rosdistro kilted --from-paths src --ignore-src --dependency-types build \
      --dependency-types buildtool --dependency-types exec --dependency-types build_export \
 && rm -rf /var/lib/apt/lists/*
RUN source /opt/ros/kilted/setup.bash \
 && colcon build --event-handlers console_direct- --cmake-args -DBUILD_TESTING=OFF \
 && rm -rf build log
COPY --from=models / /ws/install/inspire_ros/share/inspire_ros/models/
# install/setup.bash also sources /opt/ros/kilted, the underlay it was built on.
ENTRYPOINT ["/bin/bash", "-c", "source /ws/install/setup.bash && exec \"$@\"", "--"]
CMD ["ros2", "run", "inspire_ros", "anonymizer_node", "--ros-args", "-p", "autostart:=true"]
