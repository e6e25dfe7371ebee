"""Reading and writing images, image folders and video files, atomically."""
