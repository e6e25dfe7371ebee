"""Rosbag sanitizer: anonymize the camera topics of a bag, copy everything else byte for byte.

One idea per module: `source` opens and reads a bag, `definitions` knows which types are (or hide)
images, `images` anonymizes one image message, `sink` writes the output atomically, `report`
counts, `sanitize` and `verify` are the two commands. Built on the pure-Python `rosbags` library.
"""

from .errors import BagError

__all__ = ["BagError"]
