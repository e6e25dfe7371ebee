"""Depth and other non-picture image topics: an explicit policy, never the colour anonymizer.

A depth image (16UC1, 32FC1, the other nUCm/nSCm/nFCm encodings, compressedDepth formats; see
`encodings.is_depth`) shows people as body shapes, but it is not a picture the detector can read,
and the colour anonymizer would write synthetic values into it. So each such topic follows the
config key `depth`:

- copy: kept as recorded; the report says its depth is NOT anonymized.
- drop: left out of the output (the default), said in the summary and the report.
- invalidate: in every depth frame, the pixels of the instances replaced in the paired colour
  frame are set to the invalid value (0 for integer depth, NaN for float depth; 0 in a
  compressedDepth PNG). The pair: a colour frame of an anonymized topic with the same
  header.frame_id or of the same camera namespace (`/cam/depth/image_raw` and
  `/cam/color/image_raw` are both camera `/cam`), whose header stamp is the nearest within
  `depth_pair_ms`. Its boxes are those the look-ahead plan gives (known for every frame before
  pass 2) and those replaced in pass 2, scaled to the depth frame and grown by `depth_grow`. No
  pair, a colour frame that failed, or (without look-ahead) a pair not yet anonymized: the whole
  frame is invalidated (fail closed).

A frame on a depth topic that is not depth is dropped (it would otherwise leave unanonymized).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from ..io import encodings
from ..io.image_msgs import label_of, raw_image, stamp_ns, why
from ..types import Box, FrameStatus, Instance
from .images import FrameOutcome, ImageCodec, _with_data

COPY, DROP, INVALIDATE = "copy", "drop", "invalidate"

_TRANSPORTS = {"compressed", "compresseddepth", "theora", "zstd"}


def camera_namespace(topic: str) -> str:
    """The camera namespace of a depth topic: its parent namespace less the stream's own level
    (`/cam/depth/image_raw` -> `/cam`, `/cam/depth/image_raw/compressedDepth` -> `/cam`); a
    colour topic under it (`/cam/color/image_raw`, `/cam/image_raw`) is the same camera."""
    parts = [p for p in topic.split("/") if p]
    if parts and parts[-1].lower() in _TRANSPORTS:
        parts = parts[:-1]
    return "/" + "/".join(parts[:-2])


def same_camera(depth_topic: str, colour_topic: str) -> bool:
    ns = camera_namespace(depth_topic)
    return ns != "/" and colour_topic.startswith(ns + "/")


@dataclass
class _Colour:
    stamps: list[int] = field(default_factory=list)  # sorted header stamps
    order: list[int] = field(default_factory=list)  # frame index of each sorted stamp
    frame_ids: dict[int, str] = field(default_factory=dict)
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)


class Pairing:
    """The colour frames of the anonymized topics and what was (or will be) replaced in them."""

    def __init__(self, tolerance_ms: float, grow: float):
        self.tolerance = int(tolerance_ms * 1_000_000)
        self.grow = grow
        self.colour: dict[str, _Colour] = {}
        self.boxes: dict[tuple[str, int], list[tuple[str, Box]] | None] = {}  # None: the frame failed

    def add_frame(self, topic: str, index: int, stamp: int | None, frame_id: str, size: tuple[int, int]) -> None:
        c = self.colour.setdefault(topic, _Colour())
        c.frame_ids[index], c.sizes[index] = frame_id, size
        if stamp is not None:
            at = bisect.bisect(c.stamps, stamp)
            c.stamps.insert(at, stamp)
            c.order.insert(at, index)

    def planned(self, topic: str, plan, errors) -> None:
        """The look-ahead plan of a colour topic: per frame its detections, or an error."""
        for i, detections in enumerate(plan):
            self.boxes[(topic, i)] = None if errors[i] else [(d.category, d.box) for d in detections]

    def done(self, topic: str, index: int, status: str, instances: list[dict]) -> None:
        """Pass 2's outcome for a colour frame: its replaced boxes join the planned ones."""
        if status not in (FrameStatus.ANONYMIZED, FrameStatus.UNCHANGED):
            self.boxes[(topic, index)] = None
            return
        known = self.boxes.get((topic, index)) or []
        self.boxes[(topic, index)] = known + [(inst["category"], Box(*inst["box"])) for inst in instances]

    def find(self, depth_topic: str, stamp: int | None, frame_id: str) -> tuple[str, int] | None:
        """The colour frame paired with a depth frame: same frame_id or camera, nearest stamp."""
        if stamp is None:
            return None
        best = None
        for topic, c in self.colour.items():
            camera = same_camera(depth_topic, topic)
            lo = bisect.bisect_left(c.stamps, stamp - self.tolerance)
            hi = bisect.bisect_right(c.stamps, stamp + self.tolerance)
            for k in range(lo, hi):
                index = c.order[k]
                if not (camera or (frame_id and c.frame_ids.get(index) == frame_id)):
                    continue
                gap = abs(c.stamps[k] - stamp)
                if best is None or gap < best[0]:
                    best = (gap, topic, index)
        return None if best is None else (best[1], best[2])

    def mask(
        self, depth_topic: str, stamp: int | None, frame_id: str, shape: tuple[int, int]
    ) -> tuple[np.ndarray | None, list[Instance], str | None]:
        """(HxW mask to invalidate, or None for the whole frame; instances; why the whole frame)."""
        pair = self.find(depth_topic, stamp, frame_id)
        tol = self.tolerance / 1e6
        if pair is None:
            return None, [], f"no colour frame of the same camera within {tol:g} ms: invalidated whole"
        boxes = self.boxes.get(pair, "unknown")
        if boxes is None:
            return None, [], f"paired colour frame {pair[0]}#{pair[1]} failed: invalidated whole"
        if boxes == "unknown":
            return None, [], f"paired colour frame {pair[0]}#{pair[1]} not anonymized yet: invalidated whole"
        h, w = shape
        ch, cw = self.colour[pair[0]].sizes[pair[1]]
        sx, sy = w / cw, h / ch
        mask = np.zeros(shape, bool)
        instances = []
        for category, b in boxes:
            gx, gy = b.width * self.grow, b.height * self.grow
            x0, x1 = max(0, int(np.floor((b.x0 - gx) * sx))), min(w, int(np.ceil((b.x1 + gx) * sx)))
            y0, y1 = max(0, int(np.floor((b.y0 - gy) * sy))), min(h, int(np.ceil((b.y1 + gy) * sy)))
            if x1 <= x0 or y1 <= y0:
                continue
            mask[y0:y1, x0:x1] = True
            box = Box(x0, y0, x1, y1)
            instances.append(Instance(category, box, 1.0, box.area, source=f"paired {pair[0]}#{pair[1]}"))
        return mask, instances, None


class DepthTopic:
    """The frames of one depth connection under the `copy` or `invalidate` policy."""

    def __init__(self, codec: ImageCodec, topic: str, policy: str, pairing: Pairing | None):
        self.codec, self.topic, self.policy, self.pairing = codec, topic, policy, pairing
        self.last_size: tuple[int, int] | None = None

    def restore(self, last_size: tuple[int, int] | None) -> None:
        self.last_size = last_size

    def process(self, data: bytes, rng=None, index: int | None = None) -> FrameOutcome:
        try:
            msg = self.codec.deserialize(data)
        except Exception as e:  # noqa: BLE001 - nothing to check: not copied
            return FrameOutcome(
                None, FrameStatus.DROPPED, "?", error=f"cannot deserialize {self.codec.msgtype}: {why(e)}"
            )
        label = label_of(msg, self.codec.compressed)
        if not encodings.is_depth(label):
            return FrameOutcome(
                None,
                FrameStatus.DROPPED,
                label,
                error=f"{label!r} frame on a depth topic: not depth, not anonymized, dropped",
            )
        if self.policy == COPY:
            return FrameOutcome(data, FrameStatus.UNCHANGED, label)
        try:
            if self.codec.compressed:
                shape = encodings.compressed_depth_pixels(msg.format, msg.data).shape
            else:
                shape = (int(msg.height), int(msg.width))
                encodings.depth_dtype(msg.encoding)
            frame_id = str(getattr(msg.header, "frame_id", ""))
            mask, instances, reason = self.pairing.mask(self.topic, stamp_ns(msg), frame_id, shape)
            self.last_size = shape
            if mask is not None and not mask.any():
                return FrameOutcome(data, FrameStatus.UNCHANGED, label)
            if self.codec.compressed:
                payload = encodings.invalidate_compressed_depth(msg.format, msg.data, mask)
            else:
                payload = encodings.invalidate_depth(raw_image(msg), mask).data
            if mask is not None and payload == bytes(np.asarray(msg.data, np.uint8)):
                return FrameOutcome(data, FrameStatus.UNCHANGED, label)  # already invalid there
            out = self.codec.serialize(_with_data(msg, payload), data)
        except Exception as e:  # noqa: BLE001 - fail closed: a depth frame we cannot invalidate is not copied
            return FrameOutcome(None, FrameStatus.DROPPED, label, error=f"cannot invalidate depth: {why(e)}")
        if mask is None:
            return FrameOutcome(out, FrameStatus.INVALIDATED, label, error=reason)
        return FrameOutcome(out, FrameStatus.ANONYMIZED, label, instances)


def index_colour(source, handlers: dict, pairing: Pairing) -> None:
    """Header stamp, frame_id and size of every frame of the anonymized colour topics."""
    conns = [c for c in source.connections if (c.topic, c.msgtype, c.id) in handlers]
    index: dict[str, int] = {}
    for conn, _, data in source.messages(conns):
        handler = handlers[(conn.topic, conn.msgtype, conn.id)]
        i = index.get(conn.topic, 0)
        index[conn.topic] = i + 1
        try:
            msg = handler.codec.deserialize(data)
            if handler.codec.compressed:
                size = encodings.compressed_size(msg.format, msg.data)
            else:
                size = (int(msg.height), int(msg.width))
        except Exception:  # noqa: BLE001 - that colour frame fails in pass 2; its depth pair goes whole
            continue
        pairing.add_frame(conn.topic, i, stamp_ns(msg), str(getattr(msg.header, "frame_id", "")), size)


def depth_topics(source, roles: dict[str, str], candidates: set[str], codecs: dict) -> set[str]:
    """The image topics among `candidates` whose first frame is depth (a frame of another kind
    on such a topic is dropped; a depth frame on a picture topic is refused)."""
    conns = [c for c in source.connections if c.topic in candidates and (c.topic, c.msgtype, c.id) in codecs]
    found, seen = set(), set()
    if not conns:
        return found
    for conn, _, data in source.messages(conns):
        if conn.topic in seen:
            if len(seen) == len(candidates):
                break
            continue
        seen.add(conn.topic)
        codec = codecs[(conn.topic, conn.msgtype, conn.id)]
        try:
            if encodings.is_depth(label_of(codec.deserialize(data), codec.compressed)):
                found.add(conn.topic)
        except Exception:  # noqa: BLE001 - anonymized as a picture topic: it fails closed there
            pass
        if len(seen) == len(candidates):
            break
    return found
