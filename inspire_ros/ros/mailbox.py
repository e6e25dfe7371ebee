"""Latest-frame-wins slots, one per camera, drained by one worker.

The subscription callback only drops a message into its camera's slot; a frame still waiting
when the next one arrives is replaced and counted as stale. Nothing queues without bound, so
memory and latency stay flat when input outruns the pipeline.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Letter:
    camera: int
    msg: Any
    received: float  # time.monotonic() at the callback


class Mailbox:
    def __init__(self, cameras: int):
        self._slots: list[Letter | None] = [None] * cameras
        self._cond = threading.Condition()
        self._closed = False
        self.stale = [0] * cameras  # frames replaced in their slot before the worker took them

    def put(self, camera: int, msg: Any) -> bool:
        """True when a waiting frame was replaced (a stale frame dropped)."""
        letter = Letter(camera, msg, time.monotonic())
        with self._cond:
            stale = self._slots[camera] is not None
            if stale:
                self.stale[camera] += 1
            self._slots[camera] = letter
            self._cond.notify()
            return stale

    def take(self, timeout: float | None = None) -> Letter | None:
        """The waiting frame that arrived first (cameras take turns), or None when closed or
        when `timeout` passes with nothing to do."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._closed or any(s is not None for s in self._slots), timeout)
            if self._closed or not ok:
                return None
            waiting = [s for s in self._slots if s is not None]
            letter = min(waiting, key=lambda s: s.received)
            self._slots[letter.camera] = None
            return letter

    def clear(self) -> list[int]:
        """Empty every slot (deactivation): the cameras whose waiting frame was dropped (counted
        as stale)."""
        with self._cond:
            dropped = [i for i, s in enumerate(self._slots) if s is not None]
            for i in dropped:
                self.stale[i] += 1
                self._slots[i] = None
            return dropped

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
