"""Per-camera counters and latency window, turned into diagnostic key/values (no rclpy)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CameraStats:
    received: int = 0
    stale: int = 0  # replaced in the latest-frame slot before the worker took them
    published: int = 0  # anonymized, unchanged (nothing to replace) or blank frames sent
    anonymized: int = 0
    scrubbed: int = 0  # of anonymized: only row padding zeroed or compressed metadata removed
    unchanged: int = 0
    blanked: int = 0  # failed frames sent as a blank
    dropped_on_error: int = 0  # failed frames not sent at all
    instances: int = 0
    last_error: str = ""
    # Callback -> publish milliseconds of the last frames (bounded, like everything here).
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=300))
    _last: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.blanked + self.dropped_on_error

    def window(self) -> dict[str, float]:
        """Counters and rates since the previous call."""
        now = time.monotonic()
        cur = {"received": self.received, "published": self.published, "failed": self.failed, "stale": self.stale}
        last = self._last or {**dict.fromkeys(cur, 0), "t": now}
        dt = max(now - last["t"], 1e-9)
        self._last = {**cur, "t": now}
        return {
            "rate_in_hz": (cur["received"] - last["received"]) / dt,
            "rate_out_hz": (cur["published"] - last["published"]) / dt,
            "new_failures": cur["failed"] - last["failed"],
            "new_stale": cur["stale"] - last["stale"],
        }

    def latency(self) -> dict[str, float]:
        if not self.latency_ms:
            return {}
        lat = np.fromiter(self.latency_ms, float)
        return {
            "latency_ms_mean": float(lat.mean()),
            "latency_ms_p95": float(np.percentile(lat, 95)),
            "latency_ms_max": float(lat.max()),
        }


def rss_mb() -> float:
    """Resident memory of this process (Linux), for the diagnostics; 0 when unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
