"""Benchmarks and test drivers, kept out of the runtime packages (ros/, bag/):

- chain.py: `inspire bench`, per-stage cost of the chain vs the detector alone;
- bag.py: `inspire bag bench`, sanitizing a bag vs the live chain, memory per bag size;
- ros.py: `inspire ros-bench` (python -m inspire_ros.bench.ros), the ROS layer's overhead;
- harness.py: drives a real anonymizer_node process (the ROS benchmark and test/ros);
- camera_bags.py: camera bags written the way a recorder writes them (bag bench, test/bag);
- mask_iou.py, tiles.py, sample_grid.py: python -m inspire_ros.bench.<name> (see README).
"""
