"""One image message in, one anonymized message (or none) out, fail closed.

The message keeps its type, header, size, encoding/format and step; only pixel bytes change.
A frame with nothing to replace keeps its original bytes. A frame that cannot be deserialized,
decoded, anonymized or re-encoded is never copied through: it becomes a black frame of the same
size and encoding, or is dropped (config `on_error: drop`, or when not even a blank can be made).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from rosbags.interfaces import Connection
from rosbags.typesys.store import Typestore

from ..io import encodings
from ..pipeline import Anonymizer
from ..types import Instance
from .definitions import COMPRESSED_IMAGE, canonical

UNCHANGED, ANONYMIZED, BLANKED, DROPPED = "unchanged", "anonymized", "blanked", "dropped"


@dataclass
class FrameOutcome:
    data: bytes | memoryview | None  # serialized output message; None when dropped
    status: str  # unchanged | anonymized | blanked | dropped
    encoding: str  # Image.encoding or CompressedImage.format; "?" when not even deserialized
    instances: list[Instance] = field(default_factory=list)
    error: str | None = None


def replaced_mask(shape: tuple[int, int], instances: list[Instance]) -> np.ndarray:
    """HxW bool: the pixels the pipeline replaced (instance masks, whole boxes without one)."""
    mask = np.zeros(shape, bool)
    for inst in instances:
        b = inst.box
        region = mask[max(b.y0, 0) : b.y1, max(b.x0, 0) : b.x1]
        if inst.mask is not None and inst.mask.shape == (b.height, b.width) and b.x0 >= 0 and b.y0 >= 0:
            region |= inst.mask[: region.shape[0], : region.shape[1]]
        else:
            region[...] = True
    return mask


class ImageCodec:
    """(De)serializes the messages of one image connection and decodes their pixels to BGR."""

    def __init__(self, conn: Connection, store: Typestore, ros1: bool):
        self.msgtype = canonical(conn.msgtype)
        self.compressed = self.msgtype == COMPRESSED_IMAGE
        self.store, self.ros1 = store, ros1

    def deserialize(self, data: bytes):
        if self.ros1:
            return self.store.deserialize_ros1(data, self.msgtype)
        return self.store.deserialize_cdr(data, self.msgtype)

    def serialize(self, msg, like: bytes) -> bytes | memoryview:
        if self.ros1:
            return self.store.serialize_ros1(msg, self.msgtype)
        # Keep the recording's CDR byte order (second byte of the encapsulation header: 1 = little).
        return self.store.serialize_cdr(msg, self.msgtype, little_endian=len(like) < 2 or like[1] == 1)

    def label(self, msg) -> str:
        """Image.encoding or CompressedImage.format."""
        return str(msg.format if self.compressed else msg.encoding)

    def decode(self, msg) -> np.ndarray:
        if self.compressed:
            return encodings.decode_compressed(msg.format, msg.data)
        return encodings.to_bgr(raw_image(msg))


class ImageTopic:
    """Anonymizes the messages of one image connection (sensor_msgs Image or CompressedImage)."""

    def __init__(self, codec: ImageCodec, anonymizer: Anonymizer, jpeg_quality: int = 90):
        self.codec = codec
        self.compressed = codec.compressed
        self.anonymizer = anonymizer
        self.drop_on_error = anonymizer.cfg.on_error == "drop"
        self.jpeg_quality = jpeg_quality
        self._last_size: tuple[int, int] | None = None  # a blank for an undecodable CompressedImage

    @property
    def last_size(self) -> tuple[int, int] | None:
        """(height, width) of the last frame decoded: the size of a blank for an undecodable
        CompressedImage. Journaled with each frame so a resumed run blanks alike."""
        return self._last_size

    def restore(self, last_size: tuple[int, int] | None) -> None:
        """Take over the state after a frame that was not processed here (taken from a journal)."""
        self._last_size = last_size

    def process(self, data: bytes, rng: np.random.Generator | None = None) -> FrameOutcome:
        """`rng`: the random stream for this frame (None: the anonymizer's own)."""
        try:
            msg = self.codec.deserialize(data)
        except Exception as e:  # noqa: BLE001 - without a message there is nothing to blank
            return FrameOutcome(None, DROPPED, "?", error=f"cannot deserialize {self.codec.msgtype}: {_why(e)}")
        label = self.codec.label(msg)
        try:
            frame = self.codec.decode(msg)
            self._last_size = frame.shape[:2]
        except Exception as e:  # noqa: BLE001 - fail closed
            return self._fail(msg, data, label, f"cannot decode: {_why(e)}")
        out, instances, error = self.anonymizer.anonymize_or_blank(frame, rng=rng)
        if error is not None:
            return self._fail(msg, data, label, f"cannot anonymize: {error}")
        if not instances and np.array_equal(out, frame):
            return FrameOutcome(data, UNCHANGED, label)
        try:
            replaced = replaced_mask(frame.shape[:2], instances)
            return FrameOutcome(self._encode(msg, data, out, frame, replaced), ANONYMIZED, label, instances)
        except Exception as e:  # noqa: BLE001 - fail closed
            return self._fail(msg, data, label, f"cannot re-encode: {_why(e)}")

    def _encode(self, msg, data: bytes, out: np.ndarray, frame: np.ndarray, replaced: np.ndarray):
        if self.compressed:
            payload = encodings.encode_compressed(
                out, msg.format, msg.data, decoded=frame, replaced=replaced, jpeg_quality=self.jpeg_quality
            )
        else:
            payload = encodings.from_bgr(out, raw_image(msg), decoded=frame, replaced=replaced).data
        return self.codec.serialize(dataclasses.replace(msg, data=np.frombuffer(payload, np.uint8)), data)

    def _fail(self, msg, data: bytes, label: str, error: str) -> FrameOutcome:
        if self.drop_on_error:
            return FrameOutcome(None, DROPPED, label, error=error)
        try:
            if self.compressed:
                if self._last_size is None:
                    return FrameOutcome(None, DROPPED, label, error=f"{error}; no size known for a blank frame")
                payload = encodings.blank_compressed(msg.format, *self._last_size, original=msg.data)
            else:
                payload = encodings.blank_like(raw_image(msg)).data
            blank = self.codec.serialize(dataclasses.replace(msg, data=np.frombuffer(payload, np.uint8)), data)
        except Exception as e:  # noqa: BLE001 - not even a blank: drop rather than leak
            return FrameOutcome(None, DROPPED, label, error=f"{error}; cannot write a blank frame: {_why(e)}")
        return FrameOutcome(blank, BLANKED, label, error=error)


def raw_image(msg) -> encodings.RawImage:
    return encodings.RawImage(
        str(msg.encoding), int(msg.height), int(msg.width), int(msg.step), bool(msg.is_bigendian), msg.data
    )


def _why(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else '(no message)'}"
