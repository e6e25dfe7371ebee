"""The live ROS 2 shell around the ROS-free core: a lifecycle node that subscribes camera topics
and republishes them anonymized. Only this package (and the benchmark) imports rclpy."""
