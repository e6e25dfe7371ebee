"""One image message in, one anonymized message (or none) out, fail closed.

Shared by the bag tool (rosbags messages) and the live node (rclpy messages): both message kinds
carry the same fields (Image: encoding, height, width, step, is_bigendian, data; CompressedImage:
format, data), and the caller says how to make a copy of a message with new pixel bytes.

The message keeps its type, header, size, encoding/format and step; only pixel bytes change.
A frame with nothing to replace keeps its original message, but only when every byte of its
payload was read: row padding that is not zero, JPEG/PNG metadata (an EXIF thumbnail is a
second picture) or bytes after the end of a compressed image are removed first (the frame then
counts as anonymized, with `scrubbed` saying what went). A frame that cannot be decoded,
anonymized or re-encoded is never passed through: it becomes a black frame of the same size and
encoding, or is dropped (config `on_error: drop`, or when not even a blank can be made). Refused
before decoding, like an undecodable frame: a raw payload that is not exactly step x height
bytes, a frame larger than `max_frame_pixels` (judged from its header), and a raw payload whose
bytes do not fit its encoding label (`encodings.check_layout`).

Depth and other non-picture images (16UC1, 32FC1, other nUCm/nSCm/nFCm encodings, compressedDepth
formats: `is_depth`) are never run through the colour anonymizer, which would write synthetic
values into the depth: `ImageStream.process` refuses them (dropped, with the reason). What
happens to a depth topic is the caller's policy (the bag tool's `depth` config key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..boxes import union_mask
from ..pipeline import Anonymizer
from ..types import FrameStatus, Instance
from . import encodings

if TYPE_CHECKING:
    from ..sequence import Stream

WithData = Callable[[Any, bytes], Any]
"""(message, new pixel bytes) -> a copy of the message carrying those bytes."""


@dataclass
class Anonymized:
    msg: Any | None  # the output message (the input itself when unchanged); None when dropped
    status: FrameStatus  # UNCHANGED | ANONYMIZED | BLANKED | DROPPED
    label: str  # Image.encoding or CompressedImage.format
    instances: list[Instance] = field(default_factory=list)
    error: str | None = None
    scrubbed: str | None = None  # what was removed from a frame whose pixels stayed (padding, metadata)


def is_depth(msg, compressed: bool) -> bool:
    """True when the message carries depth or other non-picture data (see `encodings.is_depth`)."""
    return encodings.is_depth(label_of(msg, compressed))


def depth_refusal(label: str) -> str:
    return (
        f"refused: {label!r} is a depth (non-picture) image; the colour anonymizer would write synthetic values "
        "into it, so it is never anonymized as a picture (depth topics follow the `depth` policy)"
    )


def raw_image(msg) -> encodings.RawImage:
    return encodings.RawImage(
        str(msg.encoding), int(msg.height), int(msg.width), int(msg.step), bool(msg.is_bigendian), msg.data
    )


def label_of(msg, compressed: bool) -> str:
    return str(msg.format if compressed else msg.encoding)


def decode(msg, compressed: bool, max_pixels: int | None = None) -> np.ndarray:
    """The message's pixels as BGR, refused (EncodingError) when larger than `max_pixels` (from
    the header, before decoding) or, for raw images, when the payload is not exactly step x height
    bytes or its bytes do not fit its encoding label."""
    if compressed:
        return encodings.decode_compressed(msg.format, msg.data, max_pixels)
    image = raw_image(msg)
    encodings.check_pixels(image.width, image.height, max_pixels, image.encoding)
    encodings.check_layout(image)  # reads a sample of the bytes: before the frame is allocated
    return encodings.to_bgr(image)


def scrub(msg, compressed: bool, jpeg_quality: int = 90) -> tuple[bytes, str] | None:
    """(payload, what was removed) when the message carries bytes its decoder does not read (row
    padding that is not zero; compressed metadata or trailing bytes), None when it does not. A
    compressed image that would decode differently without them is re-encoded from its pixels."""
    if not compressed:
        image = raw_image(msg)
        if not encodings.has_padding_bytes(image):
            return None
        return encodings.zero_padding(image).data, "row padding zeroed"
    try:
        found = encodings.scrub_compressed(msg.format, msg.data)
    except encodings.EncodingError as e:  # decodable, but not a structure we can follow
        found = (b"", [f"unparsed structure ({e})"])
    if found is None:
        return None
    data, removed = found
    what = "removed " + ", ".join(removed)
    if not data or not encodings.same_pixels(msg.format, msg.data, data):
        return encodings.reencode_compressed(msg.format, msg.data, jpeg_quality), what + "; re-encoded"
    return data, what


def unread_bytes(msg, compressed: bool, max_pixels: int | None = None) -> str | None:
    """Why the message, copied as it is, would carry bytes the anonymizer never saw (None: it
    would not). The checks `ImageStream` makes before it keeps a message unchanged, without
    decoding: for `inspire bag verify`."""
    try:
        if compressed:
            height, width = encodings.compressed_size(msg.format, msg.data)
            encodings.check_pixels(width, height, max_pixels, "compressed")
            found = encodings.scrub_compressed(msg.format, msg.data)
            return None if found is None else ", ".join(found[1])
        image = raw_image(msg)
        encodings.check_pixels(image.width, image.height, max_pixels, image.encoding)
        encodings.check_layout(image)
        return "row padding that is not zero" if encodings.has_padding_bytes(image) else None
    except encodings.EncodingError as e:
        return str(e)


class ImageStream:
    """Anonymizes the messages of one topic (all Image or all CompressedImage).

    Keeps the size of the last decoded frame: the size of a blank for a CompressedImage that
    cannot be decoded.
    """

    def __init__(
        self,
        anonymizer: Anonymizer,
        compressed: bool,
        with_data: WithData,
        jpeg_quality: int = 90,
        sequence: Stream | None = None,
    ):
        self.anonymizer = anonymizer
        self.compressed = compressed
        self.with_data = with_data
        self.jpeg_quality = jpeg_quality
        # The topic as a sequence (tracker or look-ahead plan); None: frame by frame.
        self.sequence = sequence
        self.last_size: tuple[int, int] | None = None
        self.index = 0  # messages seen (the frame index a look-ahead plan is keyed by)

    def process(
        self,
        msg,
        rng: np.random.Generator | None = None,
        timings: dict[str, float] | None = None,
        index: int | None = None,
    ) -> Anonymized:
        """`rng`: the random stream for this frame (None: the anonymizer's own). `index`: the
        message's position in its topic (default: counted here)."""
        anonymizer = self.anonymizer  # one reference per frame: it may be swapped while we run
        sequence = self.sequence
        index = self.index if index is None else index
        self.index = index + 1
        label = label_of(msg, self.compressed)
        if encodings.is_depth(label):  # never faked, never passed through: refused whatever on_error says
            return Anonymized(None, FrameStatus.DROPPED, label, error=depth_refusal(label))
        try:
            frame = decode(msg, self.compressed, anonymizer.cfg.max_frame_pixels)
            self.last_size = frame.shape[:2]
        except Exception as e:  # noqa: BLE001 - fail closed
            return self._fail(msg, label, f"cannot decode: {why(e)}", anonymizer)
        if sequence is not None:
            out, instances, error = sequence.anonymize(frame, index, rng, stamp_ns(msg), timings)
        else:
            out, instances, error = anonymizer.anonymize_or_blank(frame, timings, rng=rng)
        if error is not None:
            return self._fail(msg, label, f"cannot anonymize: {error}", anonymizer)
        if not instances and np.array_equal(out, frame):
            try:
                cleaned = scrub(msg, self.compressed, self.jpeg_quality)
                if cleaned is None:
                    return Anonymized(msg, FrameStatus.UNCHANGED, label)
                return Anonymized(self.with_data(msg, cleaned[0]), FrameStatus.ANONYMIZED, label, scrubbed=cleaned[1])
            except Exception as e:  # noqa: BLE001 - fail closed
                return self._fail(msg, label, f"cannot clean: {why(e)}", anonymizer)
        try:
            replaced = union_mask(frame.shape, instances)  # the pixels the pipeline replaced
            out_msg = self.with_data(msg, self._encode(msg, out, frame, replaced))
        except Exception as e:  # noqa: BLE001 - fail closed
            return self._fail(msg, label, f"cannot re-encode: {why(e)}", anonymizer)
        return Anonymized(out_msg, FrameStatus.ANONYMIZED, label, instances)

    def _encode(self, msg, out: np.ndarray, frame: np.ndarray, replaced: np.ndarray) -> bytes:
        if self.compressed:
            return encodings.encode_compressed(
                out, msg.format, msg.data, decoded=frame, replaced=replaced, jpeg_quality=self.jpeg_quality
            )
        return encodings.from_bgr(out, raw_image(msg), decoded=frame, replaced=replaced).data

    def _fail(self, msg, label: str, error: str, anonymizer: Anonymizer) -> Anonymized:
        if anonymizer.cfg.on_error == "drop":
            return Anonymized(None, FrameStatus.DROPPED, label, error=error)
        try:
            if self.compressed:
                if self.last_size is None:
                    return Anonymized(
                        None, FrameStatus.DROPPED, label, error=f"{error}; no size known for a blank frame"
                    )
                payload = encodings.blank_compressed(msg.format, *self.last_size, original=msg.data)
            else:
                payload = encodings.blank_like(raw_image(msg)).data
            blank = self.with_data(msg, payload)
        except Exception as e:  # noqa: BLE001 - not even a blank: drop rather than leak
            return Anonymized(None, FrameStatus.DROPPED, label, error=f"{error}; cannot write a blank frame: {why(e)}")
        return Anonymized(blank, FrameStatus.BLANKED, label, error=error)


def stamp_ns(msg) -> int | None:
    """header.stamp in nanoseconds (rclpy and rosbags messages alike); None without one."""
    try:
        return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
    except AttributeError:
        return None


def why(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else '(no message)'}"
