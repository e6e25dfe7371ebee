"""Properties of the fail-closed image step (io/image_msgs.py) and its codecs (io/encodings.py):
whatever the header, size, step, encoding, byte order and bytes of a message, it comes out
anonymized, blanked or dropped, or unchanged only when every byte of it was read, and never
with bytes the anonymizer did not see.

Two stand-in detectors bracket the real one: `Everywhere` finds a person covering the whole
frame (so the fill method replaces every pixel: no byte of the input may survive), `Nobody`
finds no one (so a frame comes out unchanged, and then it must have been read in full).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspire_ros import config as config_mod
from inspire_ros.io import encodings
from inspire_ros.io.image_msgs import ImageStream
from inspire_ros.pipeline import Anonymizer
from inspire_ros.types import Box, Detection, FrameStatus

from support import CompressedImageMsg as CompressedImage
from support import ImageMsg as Image

ANONYMIZED, BLANKED, DROPPED, UNCHANGED = (
    FrameStatus.ANONYMIZED,
    FrameStatus.BLANKED,
    FrameStatus.DROPPED,
    FrameStatus.UNCHANGED,
)
CAP = 4096  # max_frame_pixels here: frames of up to 64x64 pixels
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
UNSUPPORTED = ["", "jpeg", "bgr32", "nv24"]
DEPTH = ["16UC1", "32FC1", "16SC1", "64FC1"]  # refused whatever on_error says: dropped, never faked


class Everywhere:
    provider = "test"

    def detect(self, frame):
        h, w = frame.shape[:2]
        return [Detection(Box(0, 0, w, h), "person", 0, 0.99)]


class Nobody:
    provider = "test"

    def detect(self, frame):
        return []


def with_data(msg, payload) -> object:
    return dataclasses.replace(msg, data=bytes(payload))


def stream(detector, compressed: bool, on_error: str = "blank") -> ImageStream:
    cfg = config_mod.from_dict({"method": "fill", "max_frame_pixels": CAP, "on_error": on_error})
    return ImageStream(Anonymizer(cfg, detector=detector), compressed, with_data)


def bytes_per_pixel(encoding: str) -> int:
    try:
        layout = encodings.layout_of(encoding)
    except encodings.EncodingError:
        return 4
    return layout.channels * layout.itemsize


def rows(encoding: str, height: int) -> int:
    """Payload rows: 4:2:0 (nv12, nv21) adds half the height of chroma rows."""
    kind = encodings.layout_of(encoding).kind if encoding in encodings.supported_encodings() else None
    return height + height // 2 if kind == "yuv420" else height


def readable(msg: Image) -> bool:
    """The oracle: a raw message whose every byte is a pixel byte or row padding, within the
    pixel budget."""
    if msg.encoding not in encodings.supported_encodings() or msg.height <= 0 or msg.width <= 0:
        return False
    row = msg.width * bytes_per_pixel(msg.encoding)
    n_rows = rows(msg.encoding, msg.height)
    if msg.step < row or len(msg.data) != n_rows * msg.step or msg.width * msg.height > CAP:
        return False
    kind = encodings.layout_of(msg.encoding).kind
    if kind == "yuv420":
        return msg.width % 2 == 0 and msg.height % 2 == 0
    return kind != "yuv422" or msg.width % 2 == 0


def fully_read(msg: Image) -> bool:
    """Readable, and its padding (bytes the decoder skips) all zero."""
    if not readable(msg):
        return False
    row = msg.width * bytes_per_pixel(msg.encoding)
    return not np.frombuffer(msg.data, np.uint8).reshape(-1, msg.step)[:, row:].any()


@st.composite
def raw_messages(draw) -> Image:
    encoding = draw(st.sampled_from(encodings.supported_encodings() + UNSUPPORTED + DEPTH))
    huge = draw(st.sampled_from([False] * 7 + [True]))
    empty = draw(st.sampled_from([None] * 9 + ["height", "width"]))
    h = 0 if empty == "height" else draw(st.integers(1000, 100_000)) if huge else draw(st.integers(1, 40))
    w = 0 if empty == "width" else draw(st.integers(1, 40))
    row = w * bytes_per_pixel(encoding)
    step = max(0, row + draw(st.sampled_from([0] * 5 + [-1, -3, 1, 2, 5, 8, 13])))
    n_rows = rows(encoding, h)
    exact = 0 if huge else n_rows * step
    n = max(0, exact + draw(st.sampled_from([0] * 8 + [-1, -step, 1, 7, step, 3 * step])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.integers(0, 256, n, dtype=np.uint8)
    if draw(st.booleans()) and n == n_rows * step and step > row:
        data.reshape(n_rows, step)[:, row:] = 0  # clean padding, as most drivers write it
    return Image("hdr", h, w, encoding, draw(st.booleans()), step, data.tobytes())


def check_shape(msg: Image, result) -> None:
    out = result.msg
    if out is None:
        assert result.status == DROPPED
        return
    fields = ("header", "height", "width", "encoding", "is_bigendian", "step")
    assert [getattr(out, f) for f in fields] == [getattr(msg, f) for f in fields]
    assert len(out.data) == len(msg.data)
    if result.status == BLANKED:
        assert (
            out.data == encodings.blank_like(encodings.RawImage(*(getattr(msg, f) for f in fields[1:]), msg.data)).data
        )
    elif msg.height > 0 and msg.step > 0 and len(out.data) == rows(msg.encoding, msg.height) * msg.step:
        row = msg.width * bytes_per_pixel(msg.encoding)
        assert not np.frombuffer(out.data, np.uint8).reshape(-1, msg.step)[:, row:].any(), "padding kept"


def chunks(data: bytes, size: int = 8) -> list[bytes]:
    """The input's 8-byte pieces that only a copy could reproduce (not runs of one or two values)."""
    pieces = [data[i : i + size] for i in range(0, len(data) - size + 1, size)]
    return [p for p in pieces if len(set(p)) > 2]


@PROPERTY
@given(raw_messages())
def test_raw_with_a_person_everywhere_nothing_of_the_input_survives(msg):
    result = stream(Everywhere(), compressed=False).process(msg)
    assert result.status in (ANONYMIZED, BLANKED, DROPPED)
    check_shape(msg, result)
    if result.msg is not None:
        out = result.msg.data
        # The input is random: any 8 of its bytes found in the output were copied, not made.
        assert not any(c in out for c in chunks(msg.data)), f"input bytes in the {result.status} output"
    if not readable(msg):
        assert result.status in (BLANKED, DROPPED)


@PROPERTY
@given(raw_messages(), st.sampled_from(["blank", "drop"]))
def test_raw_with_nobody_unchanged_only_when_every_byte_was_read(msg, on_error):
    result = stream(Nobody(), compressed=False, on_error=on_error).process(msg)
    check_shape(msg, result)
    if result.status == UNCHANGED:
        assert result.msg is msg and fully_read(msg)
    elif result.status == ANONYMIZED:  # nobody to replace: only cleaned of its padding
        assert result.scrubbed == "row padding zeroed" and not result.instances
        row = msg.width * bytes_per_pixel(msg.encoding)
        a = np.frombuffer(msg.data, np.uint8).reshape(-1, msg.step)[:, :row]
        b = np.frombuffer(result.msg.data, np.uint8).reshape(-1, msg.step)[:, :row]
        assert np.array_equal(a, b)
    else:
        assert result.error and not fully_read(msg) or result.status == (BLANKED if on_error == "blank" else DROPPED)
    if msg.encoding in DEPTH:
        assert result.status == DROPPED and result.msg is None and "depth" in result.error
    elif (
        len(msg.data) != rows(msg.encoding, msg.height) * msg.step
        or msg.encoding in UNSUPPORTED
        or msg.width * msg.height > CAP
    ):
        assert result.status == (BLANKED if on_error == "blank" else DROPPED)


# --- compressed ---------------------------------------------------------------------------------

SECRET = b"\x13\x37SECRET-BYSTANDER\x00\x99"


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _png(pixels: np.ndarray) -> bytes:
    return cv2.imencode(".png", pixels)[1].tobytes()


def _chunk(kind: bytes, body: bytes) -> bytes:
    import zlib

    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body


MUTATIONS = [
    "none",
    "comment",
    "exif",
    "jfxx",
    "trailing",
    "second-image",
    "truncated",
    "garbage",
    "huge",
    "png-text",
    "png-trailing",
    "png-animation",
]


@st.composite
def compressed_messages(draw) -> tuple[CompressedImage, bool]:
    """(message, whether SECRET was planted in it)."""
    h, w = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    gray = draw(st.booleans())
    pixels = rng.integers(0, 256, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    if draw(st.booleans()):
        pixels = cv2.GaussianBlur(pixels, (5, 5), 2)  # a smoother picture, like a camera's
    mutation = draw(st.sampled_from(MUTATIONS))
    png = mutation.startswith("png") or draw(st.booleans()) and mutation in ("none", "trailing", "huge", "truncated")
    if png and draw(st.booleans()):
        pixels = pixels.astype(np.uint16) * 257  # 16-bit PNG
    data = _png(pixels) if png else _jpeg(pixels, draw(st.integers(5, 100)))
    planted = True
    if mutation == "comment":
        data = data[:2] + _segment(0xFE, SECRET) + data[2:]
    elif mutation == "exif":  # an EXIF block carrying a thumbnail-sized secret
        data = data[:2] + _segment(0xE1, b"Exif\x00\x00" + SECRET * 4) + data[2:]
    elif mutation == "jfxx":
        data = data[:2] + _segment(0xE0, b"JFXX\x00\x10" + SECRET) + data[2:]
    elif mutation in ("trailing", "png-trailing"):
        data = data + SECRET
    elif mutation == "second-image":
        data = data + _jpeg(np.full((8, 8, 3), 99, np.uint8), 90) + SECRET
    elif mutation == "png-text":
        data = data[:33] + _chunk(b"tEXt", b"Comment\x00" + SECRET) + data[33:]
    elif mutation == "png-animation":
        data = data[:33] + _chunk(b"fdAT", b"\x00\x00\x00\x01" + SECRET) + data[33:]
    elif mutation == "truncated":
        data, planted = data[: draw(st.integers(0, len(data) - 1))], False
    elif mutation == "garbage":
        data, planted = rng.integers(0, 256, draw(st.integers(0, 300)), dtype=np.uint8).tobytes(), False
    elif mutation == "huge":  # the header claims far more pixels than the data holds
        planted = False
        if png:
            data = data[:16] + (70_000).to_bytes(4, "big") + (70_000).to_bytes(4, "big") + data[24:]
        else:
            at = next(i for i in range(2, len(data) - 9) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
            data = data[: at + 5] + (60_000).to_bytes(2, "big") + (60_000).to_bytes(2, "big") + data[at + 9 :]
    else:
        planted = False
    fmt = draw(
        st.sampled_from(
            [
                "jpeg",
                "png",
                "rgb8; jpeg compressed bgr8",
                "mono8; png compressed mono8",
                "",
                "16UC1; compressedDepth png",
            ]
        )
    )
    return CompressedImage("hdr", fmt, data), planted


def check_compressed(msg: CompressedImage, planted: bool, result) -> None:
    if "compressedDepth" in msg.format:  # depth: refused, never faked, never passed through
        assert result.status == DROPPED and result.msg is None and "depth" in result.error
    if result.msg is not None:
        assert result.msg.format == msg.format and result.msg.header == msg.header
        assert SECRET not in result.msg.data, f"planted bytes in the {result.status} output"
    if result.status == UNCHANGED:
        assert result.msg is msg and not planted
        assert encodings.scrub_compressed(msg.format, msg.data) is None
        h, w = encodings.compressed_size(msg.format, msg.data)
        assert h * w <= CAP


@PROPERTY
@given(compressed_messages())
def test_compressed_with_a_person_everywhere_is_anonymized_or_failed(case):
    msg, planted = case
    result = stream(Everywhere(), compressed=True).process(msg)
    assert result.status in (ANONYMIZED, BLANKED, DROPPED)
    check_compressed(msg, planted, result)


@PROPERTY
@given(compressed_messages())
def test_compressed_with_nobody_keeps_only_what_was_read(case):
    msg, planted = case
    s = stream(Nobody(), compressed=True)
    s.last_size = (10, 12)  # as after an earlier frame: undecodable frames become blanks of that size
    result = s.process(msg)
    check_compressed(msg, planted, result)
    if planted:
        assert result.status != UNCHANGED
    if result.status == ANONYMIZED:
        assert result.scrubbed and not result.instances
        before = encodings.decode_compressed(msg.format, msg.data)
        after = encodings.decode_compressed(msg.format, result.msg.data)
        assert before.shape == after.shape
        if "re-encoded" not in result.scrubbed:  # metadata removed: the very same pixels
            assert np.array_equal(before, after)


# --- the codecs ------------------------------------------------------------------------------------


@st.composite
def raw_images(draw) -> encodings.RawImage:
    encoding = draw(st.sampled_from(encodings.supported_encodings()))
    kind = encodings.layout_of(encoding).kind
    h = draw(st.integers(1, 24)) * (2 if kind == "yuv420" else 1)
    w = draw(st.integers(1, 24)) * (2 if kind in ("yuv422", "yuv420") else 1)
    frame = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, (h, w, 3), dtype=np.uint8)
    bpp = bytes_per_pixel(encoding)
    return encodings.encode_bgr(
        frame, encoding, step=w * bpp + draw(st.integers(0, 7)), is_bigendian=draw(st.booleans())
    )


@PROPERTY
@given(raw_images(), st.integers(0, 255))
def test_untouched_round_trip_keeps_pixels_and_zeroes_padding(image, junk):
    decoded = encodings.to_bgr(image)
    assert encodings.from_bgr(decoded, image).data == image.data  # encode_bgr pads with zeros
    payload = np.frombuffer(image.data, np.uint8).reshape(-1, image.step).copy()
    row = image.width * bytes_per_pixel(image.encoding)
    payload[:, row:] = junk
    dirty = dataclasses.replace(image, data=payload.tobytes())
    assert encodings.has_padding_bytes(dirty) == (junk != 0 and image.step > row)
    assert encodings.from_bgr(encodings.to_bgr(dirty), dirty).data == image.data
    assert encodings.zero_padding(dirty).data == image.data


@PROPERTY
@given(raw_images())
def test_blank_is_black_and_keeps_the_shape(image):
    blank = encodings.blank_like(image)
    assert len(blank.data) == len(image.data) and blank.step == image.step
    assert encodings.to_bgr(blank).max() == 0
    assert not encodings.has_padding_bytes(blank)


@PROPERTY
@given(raw_images(), st.integers(1, 64))
def test_payload_must_be_exactly_step_times_height(image, extra):
    longer = dataclasses.replace(image, data=image.data + bytes(extra))
    shorter = dataclasses.replace(image, data=image.data[:-extra])
    for bad in (longer, shorter):
        with pytest.raises(encodings.EncodingError, match="needs"):
            encodings.to_bgr(bad)
        assert not any(encodings.blank_like(bad).data)
