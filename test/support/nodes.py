"""The node in its own process, in the ROS tests (test/ros)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from inspire_ros.bench.harness import NodeProcess


@contextmanager
def active(proc: NodeProcess) -> Iterator[NodeProcess]:
    """`proc` once its node is active; stopped on the way out, which must be a clean exit (0)
    (the assertion shows the node's log otherwise)."""
    try:
        proc.wait_log("active:")
        yield proc
    finally:
        assert proc.stop() == 0, proc.log()
