"""Per-camera counters and latency window, and the frequency and timestamp checks of the
published topic, turned into diagnostic key/values (no rclpy).

`FrequencyStatus` and `TimeStampStatus` follow diagnostic_updater's tasks of the same names
(same keys, same levels), so dashboards that know those read these too; the wheel is not on
PyPI, so the node carries them itself."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..memory import status_mb


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
    depth_refused: int = 0  # depth frames on a camera input: never anonymized, never published
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
        cur = {
            "received": self.received,
            "published": self.published,
            "failed": self.failed,
            "stale": self.stale,
            "depth": self.depth_refused,
        }
        last = self._last or {**dict.fromkeys(cur, 0), "t": now}
        dt = max(now - last["t"], 1e-9)
        self._last = {**cur, "t": now}
        return {
            "rate_in_hz": (cur["received"] - last["received"]) / dt,
            "rate_out_hz": (cur["published"] - last["published"]) / dt,
            "new_failures": cur["failed"] - last["failed"],
            "new_stale": cur["stale"] - last["stale"],
            "new_depth": cur["depth"] - last["depth"],
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


OK, WARN, ERROR = 0, 1, 2


class FrequencyStatus:
    """diagnostic_updater's FrequencyStatus: events (published frames) counted over the last
    `window_size` diagnostic periods against [min_freq, max_freq] +- tolerance. min_freq 0: no
    lower bound (and no ERROR for a silent topic); max_freq 0: no upper bound."""

    def __init__(self, min_freq: float = 0.0, max_freq: float = 0.0, tolerance: float = 0.1, window_size: int = 5):
        self.min_freq, self.max_freq, self.tolerance = min_freq, max_freq, tolerance
        self.count = 0
        self.history: deque = deque(maxlen=max(int(window_size), 1) + 1)  # (time, count)

    def tick(self) -> None:
        self.count += 1

    def run(self, now: float | None = None) -> tuple[int, str, dict[str, str]]:
        now = time.monotonic() if now is None else now
        if not self.history:
            self.history.append((now, self.count))
        self.history.append((now, self.count))
        t0, c0 = self.history[0]
        events, window = self.count - c0, now - t0
        freq = events / window if window > 0 else 0.0
        level, message = OK, "Desired frequency met"
        if events == 0 and self.min_freq > 0:
            level, message = ERROR, "No events recorded."
        elif self.min_freq > 0 and freq < self.min_freq * (1 - self.tolerance):
            level, message = WARN, "Frequency too low."
        elif self.max_freq > 0 and freq > self.max_freq * (1 + self.tolerance):
            level, message = WARN, "Frequency too high."
        values = {
            "Events in window": str(events),
            "Events since startup": str(self.count),
            "Duration of window (s)": f"{window:.6f}",
            "Actual frequency (Hz)": f"{freq:.6f}",
        }
        if self.min_freq > 0 and self.min_freq == self.max_freq:
            values["Target frequency (Hz)"] = f"{self.min_freq:.6f}"
        if self.min_freq > 0:
            values["Minimum acceptable frequency (Hz)"] = f"{self.min_freq * (1 - self.tolerance):.6f}"
        if self.max_freq > 0:
            values["Maximum acceptable frequency (Hz)"] = f"{self.max_freq * (1 + self.tolerance):.6f}"
        return level, message, values


class TimeStampStatus:
    """diagnostic_updater's TimeStampStatus: the delay `now - header.stamp` of each published
    frame (both on the node's clock, so sim time when use_sim_time) must stay within
    [min_acceptable, max_acceptable] seconds; a zero stamp is an error too. No frame since the
    last update: WARN."""

    def __init__(self, min_acceptable: float = -1.0, max_acceptable: float = 5.0):
        self.min_acceptable, self.max_acceptable = min_acceptable, max_acceptable
        self.early_count = self.late_count = self.zero_count = 0
        self._reset()

    def _reset(self) -> None:
        self.min_delta = self.max_delta = 0.0
        self.deltas_valid = False
        self.zero_seen = False

    def tick(self, stamp_s: float, now_s: float) -> None:
        if stamp_s == 0:
            self.zero_seen = True
            return
        delta = now_s - stamp_s
        if not self.deltas_valid or delta < self.min_delta:
            self.min_delta = delta
        if not self.deltas_valid or delta > self.max_delta:
            self.max_delta = delta
        self.deltas_valid = True

    def run(self) -> tuple[int, str, dict[str, str]]:
        level, messages = OK, []
        if not self.deltas_valid and not self.zero_seen:
            level, messages = WARN, ["No data since last update."]
        if self.deltas_valid and self.min_delta < self.min_acceptable:
            level = ERROR
            messages.append("Timestamps too far in future seen.")
            self.early_count += 1
        if self.deltas_valid and self.max_delta > self.max_acceptable:
            level = ERROR
            messages.append("Timestamps too far in past seen.")
            self.late_count += 1
        if self.zero_seen:
            level = ERROR
            messages.append("Zero timestamp seen.")
            self.zero_count += 1
        values = {
            "Earliest timestamp delay:": f"{self.min_delta:.6f}",
            "Latest timestamp delay:": f"{self.max_delta:.6f}",
            "Earliest acceptable timestamp delay:": f"{self.min_acceptable:.6f}",
            "Latest acceptable timestamp delay:": f"{self.max_acceptable:.6f}",
            "Late diagnostic update count:": str(self.late_count),
            "Early diagnostic update count:": str(self.early_count),
            "Zero seen diagnostic update count:": str(self.zero_count),
        }
        self._reset()
        return level, " ".join(messages) or "Timestamps are reasonable.", values


def rss_mb() -> float:
    """Resident memory of this process (Linux), for the diagnostics; 0 when unknown."""
    return status_mb("VmRSS") or 0.0
