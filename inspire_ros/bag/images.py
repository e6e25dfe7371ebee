"""Serialized bag messages in and out of the shared, fail-closed image step (io/image_msgs.py).

A frame with nothing to replace keeps its original bytes (when every one of them was read); one
that cannot even be deserialized is dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from rosbags.interfaces import Connection
from rosbags.typesys.store import Typestore

from ..io import image_msgs
from ..io.image_msgs import ImageStream, why
from ..pipeline import Anonymizer
from ..types import FrameStatus, Instance
from .definitions import COMPRESSED_IMAGE, canonical

__all__ = ["FrameOutcome", "ImageCodec", "ImageTopic"]


@dataclass
class FrameOutcome:
    data: bytes | memoryview | None  # serialized output message; None when dropped
    status: FrameStatus  # UNCHANGED | ANONYMIZED | BLANKED | DROPPED (depth topics: also INVALIDATED)
    encoding: str  # Image.encoding or CompressedImage.format; "?" when not even deserialized
    instances: list[Instance] = field(default_factory=list)
    error: str | None = None
    scrubbed: str | None = None  # what was removed from a frame whose pixels stayed (padding, metadata)


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

    def decode(self, msg, max_pixels: int | None = None) -> np.ndarray:
        return image_msgs.decode(msg, self.compressed, max_pixels)


class ImageTopic:
    """Anonymizes the serialized messages of one image connection (Image or CompressedImage)."""

    def __init__(self, codec: ImageCodec, anonymizer: Anonymizer, jpeg_quality: int = 90):
        self.codec = codec
        self.compressed = codec.compressed
        self.stream = ImageStream(anonymizer, codec.compressed, _with_data, jpeg_quality)

    @property
    def last_size(self) -> tuple[int, int] | None:
        """(height, width) of the last frame decoded: the size of a blank for an undecodable
        CompressedImage. Journaled with each frame so a resumed run blanks alike."""
        return self.stream.last_size

    def restore(self, last_size: tuple[int, int] | None) -> None:
        """Take over the state after a frame that was not processed here (taken from a journal)."""
        self.stream.last_size = last_size

    def _message(self, data: bytes):
        """(message, None), or (None, why it cannot be deserialized)."""
        try:
            return self.codec.deserialize(data), None
        except Exception as e:  # noqa: BLE001 - reported by the caller
            return None, f"cannot deserialize {self.codec.msgtype}: {why(e)}"

    def frame(self, data: bytes) -> tuple[np.ndarray | None, str | None]:
        """The message's pixels as BGR (for the detection pass), or None and why not."""
        msg, error = self._message(data)
        if msg is None:  # pass 2 fails the frame again
            return None, error
        try:
            return self.codec.decode(msg, self.stream.anonymizer.cfg.max_frame_pixels), None
        except Exception as e:  # noqa: BLE001 - as above
            return None, f"cannot decode: {why(e)}"

    def process(self, data: bytes, rng: np.random.Generator | None = None, index: int | None = None) -> FrameOutcome:
        """`rng`: the random stream for this frame (None: the anonymizer's own). `index`: the
        message's position in its topic."""
        msg, error = self._message(data)
        if msg is None:  # without a message there is nothing to blank
            return FrameOutcome(None, FrameStatus.DROPPED, "?", error=error)
        result = self.stream.process(msg, rng, index=index)
        if result.status == FrameStatus.UNCHANGED:
            return FrameOutcome(data, FrameStatus.UNCHANGED, result.label)
        if result.msg is None:
            return FrameOutcome(None, result.status, result.label, error=result.error)
        try:
            out = self.codec.serialize(result.msg, data)
        except Exception as e:  # noqa: BLE001 - fail closed: nothing rather than the original
            return FrameOutcome(None, FrameStatus.DROPPED, result.label, error=f"cannot serialize: {why(e)}")
        return FrameOutcome(out, result.status, result.label, result.instances, result.error, result.scrubbed)


def _with_data(msg, payload: bytes):
    return dataclasses.replace(msg, data=np.frombuffer(payload, np.uint8))
