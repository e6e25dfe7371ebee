"""One stream of frames (a video, a bag topic, a camera), anonymized in order.

How the detections of frame i are decided depends on the config:
- look-ahead (offline; `lookahead.enabled`): pass 1 runs the detector over every frame
  (`detect_all`), `track.lookahead.plan` links tracks and fills/extends them, pass 2 replaces
  what the plan says (`Stream.anonymize(frame, index=i)`);
- tracking without look-ahead (live): a `TemporalGuard` fed frame by frame;
- neither: each frame's confident detections alone.
`Stream` hides the difference from the CLI, the bag tool and the benches.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .pipeline import Anonymizer
from .track import lookahead
from .track.receipt import Receipt
from .types import Box, Detection

T = TypeVar("T")


def stream_salt(seed: int | None, name: str) -> int | None:
    """Per-track latents of a seeded run are reproducible per stream; None: fresh entropy."""
    return None if seed is None else int(np.random.default_rng([seed, zlib.crc32(name.encode())]).integers(2**62))


@dataclass
class Detected:
    """Pass 1 of a stream: per frame the detector's candidates (None where it failed)."""

    candidates: list[list[Detection] | None] = field(default_factory=list)
    sizes: list[tuple[int, int] | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)

    def add(self, frame: np.ndarray | None, anonymizer: Anonymizer, error: str | None = None) -> None:
        if frame is None:
            self.candidates.append(None)
            self.sizes.append(None)
            self.errors.append(error or "no frame")
            return
        self.sizes.append(frame.shape[:2])
        try:
            self.candidates.append(anonymizer.detect(frame))
            self.errors.append(None)
        except Exception as e:  # noqa: BLE001 - recorded; pass 2 blanks that frame
            self.candidates.append(None)
            self.errors.append(f"cannot detect: {type(e).__name__}: {e}")

    def to_json(self) -> dict:
        return {
            "sizes": [list(s) if s else None for s in self.sizes],
            "errors": self.errors,
            "candidates": [
                None if c is None else [[*d.box.as_list(), d.class_id, d.category, d.score] for d in c]
                for c in self.candidates
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Detected:
        return cls(
            candidates=[
                None if c is None else [Detection(Box(*r[:4]), r[5], int(r[4]), float(r[6])) for r in c]
                for c in data["candidates"]
            ],
            sizes=[tuple(s) if s else None for s in data["sizes"]],
            errors=list(data["errors"]),
        )


def detect_all(
    anonymizer: Anonymizer, frames: Iterable[np.ndarray | None], tick: Callable[[], None] | None = None
) -> Detected:
    detected = Detected()
    for frame in frames:
        detected.add(frame, anonymizer)
        if tick:
            tick()
    return detected


class Stream:
    """Anonymizes one stream's frames in order. With look-ahead, give pass 1's `Detected`."""

    def __init__(self, anonymizer: Anonymizer, detected: Detected | None = None, salt: int | None = None):
        self.anonymizer = anonymizer
        cfg = anonymizer.cfg
        self.detected = detected
        self.plan: list[list[Detection]] | None = None
        self.guard = None
        self.salt = int(anonymizer.rng.integers(2**62)) if salt is None else salt
        if detected is not None:
            self.plan, self.receipt = lookahead.plan(detected.candidates, detected.sizes, cfg, self.salt)
        else:
            self.guard = anonymizer.guard(self.salt)
            self.receipt = self.guard.receipt if self.guard is not None else Receipt()

    def rebind(self, anonymizer: Anonymizer) -> Stream:
        """This stream for a reconfigured anonymizer (a live parameter change): the tracks
        survive unless the tracking settings or thresholds changed."""
        old, new = self.anonymizer.cfg, anonymizer.cfg
        same = (new.tracking, new.detector.score_threshold) == (old.tracking, old.detector.score_threshold)
        if self.plan is None and same:
            self.anonymizer = anonymizer
            return self
        return Stream(anonymizer, self.detected, self.salt)

    def anonymize(
        self,
        frame: np.ndarray,
        index: int,
        rng: np.random.Generator | None = None,
        stamp_ns: int | None = None,
        timings: dict | None = None,
    ):
        """Fail closed, as `Anonymizer.anonymize_or_blank`: (output, instances, error)."""
        if self.plan is None:
            # One call, so that the stage timings include the detector's.
            result = self.anonymizer.anonymize_or_blank(frame, timings, rng, guard=self.guard, stamp_ns=stamp_ns)
            return self._noted(result)
        return self.replace(frame, self.decide(frame, index, stamp_ns), rng, timings)

    def decide(self, frame: np.ndarray, index: int, stamp_ns: int | None = None) -> Decided:
        """What frame `index` replaces: the plan's boxes (look-ahead), the tracker's (live) or
        the confident detections; or why it cannot be anonymized. Calls for one stream must
        come in frame order (the tracker and the plan are sequential)."""
        anonymizer = self.anonymizer
        if self.plan is not None:
            if index >= len(self.plan):
                return Decided(None, f"frame {index} was not seen by the detection pass (it saw {len(self.plan)})")
            if self.detected.errors[index]:
                return Decided(None, self.detected.errors[index])
            if self.detected.sizes[index] != frame.shape[:2]:
                return Decided(
                    None, f"frame {index} is {frame.shape[:2]}, the detection pass saw {self.detected.sizes[index]}"
                )
            return Decided(self.plan[index])
        try:
            return Decided(anonymizer.select(anonymizer.detect(frame), frame.shape, self.guard, stamp_ns))
        except Exception as e:  # noqa: BLE001 - any failure must not leak the original
            return Decided(None, f"{type(e).__name__}: {e}")

    def replace(
        self, frame: np.ndarray, decided: Decided, rng: np.random.Generator | None = None, timings: dict | None = None
    ):
        """Fail closed: (output, instances, error) for a frame whose detections are decided."""
        anonymizer = self.anonymizer
        if decided.error is not None:
            return anonymizer.fail(frame, decided.error)
        return self._noted(anonymizer.anonymize_or_blank(frame, timings, rng, detections=decided.detections))

    def _noted(self, result):
        if self.plan is None and self.guard is None and result[2] is None:
            self.receipt.add(result[1])  # frame by frame: what was replaced is what was detected
        return result


@dataclass(frozen=True)
class Decided:
    detections: list[Detection] | None
    error: str | None = None


def overlapped(stream: Stream, items: Iterable[T], frame_of: Callable[[T], np.ndarray | None]) -> Iterator[tuple]:
    """(item, (output, instances, error)) for every item, in order, with the detection of the
    next frame running on a worker thread while this one is replaced: the detector's and the
    generator's sessions overlap instead of taking turns. Items whose frame is None are yielded
    with result None (the caller says why). The worker only ever runs `Stream.decide`, in
    frame order; replacement (and the random stream) stays on the caller's thread."""
    with ThreadPoolExecutor(1, thread_name_prefix="inspire-detect") as pool:
        pending: deque[tuple[T, np.ndarray | None, Future | None]] = deque()
        index = 0

        def submit(item: T) -> None:
            nonlocal index
            frame = frame_of(item)
            pending.append((item, frame, None if frame is None else pool.submit(stream.decide, frame, index)))
            index += 1

        it = iter(items)
        for item in it:
            submit(item)
            break
        while pending:
            for item in it:  # the next frame's detection starts before this one is replaced
                submit(item)
                break
            item, frame, future = pending.popleft()
            if future is None:
                yield item, None
                continue
            yield item, stream.replace(frame, future.result())
