"""sensor_msgs/Image and CompressedImage payloads <-> HxWx3 uint8 BGR frames (numpy + cv2 only).

Shared by the bag tool and the live ROS node, so it knows nothing about ROS message classes:
callers hand in the fields of the message (`RawImage`) or the compressed bytes and format.

Writing back keeps the original encoding, step and endianness, and re-encodes only the pixels
that changed (plus any pixel the caller says was replaced). Conversions like demosaicing,
16 -> 8 bit or YUV 4:2:2 are not invertible; this way an untouched frame comes back
byte-identical, and anonymization alters the payload only where instances were pasted.

Nothing the decoder does not read is ever written back: a raw payload must be exactly
step x height bytes (bytes past the declared image are refused, not copied), row padding comes
out zeroed, and a compressed payload's metadata (EXIF thumbnails, comments, APPn segments,
PNG text chunks) and bytes after its end are removed (`scrub_compressed`). Sizes are checked
against a pixel budget from the header, before decoding allocates anything (`max_pixels`), and
a raw payload whose bytes do not fit its encoding label (`check_layout`: bgr8 data labelled
mono8 at three times the width, a wrong 16-bit byte order, ...) is refused rather than passed
through unread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import cv2
import numpy as np


class EncodingError(ValueError):
    """An image payload cannot be converted: unknown encoding, bad size or undecodable bytes."""


@dataclass(frozen=True)
class RawImage:
    """The fields of a sensor_msgs/Image that describe its pixels."""

    encoding: str
    height: int
    width: int
    step: int  # bytes per row, may include padding
    is_bigendian: bool
    data: bytes | np.ndarray  # uint8, exactly step * height bytes


@dataclass(frozen=True)
class _Layout:
    kind: str  # pixels | bayer | yuv422 | yuv420
    # pixels: bgr, rgb, bgra, rgba, gray; bayer: the 2x2 pattern; yuv422: uyvy or yuyv; yuv420: nv12 or nv21
    order: str
    channels: int  # samples per pixel (yuv422: bytes per pixel; yuv420: bytes per pixel of the Y plane)
    itemsize: int  # bytes per sample

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.itemsize

    def rows(self, height: int) -> int:
        """Payload rows of an image `height` pixels high: 4:2:0 adds the chroma plane below."""
        return height + height // 2 if self.kind == "yuv420" else height


_GRAY8 = _Layout("pixels", "gray", 1, 1)
_GRAY16 = _Layout("pixels", "gray", 1, 2)
_BGR8 = _Layout("pixels", "bgr", 3, 1)
_BGRA8 = _Layout("pixels", "bgra", 4, 1)

# Names from sensor_msgs/image_encodings.hpp. The OpenCV-type aliases follow cv_bridge, which
# treats 8UC3/8UC4 as OpenCV's native BGR(A) order. 16UC1 and 32FC1 are depth (REP 118), and the
# other OpenCV-type names (nUCm, nSCm, nFCm) are data, not pictures: see `is_depth`.
# 4:2:0 semi-planar (nv12: U V, nv21: V U): `height` rows of Y then height/2 rows of interleaved
# chroma, both `step` bytes apart, so the payload is step x height x 3/2 bytes.
LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout("pixels", "rgb", 3, 1),
    "bgr8": _BGR8,
    "8UC3": _BGR8,
    "rgba8": _Layout("pixels", "rgba", 4, 1),
    "bgra8": _BGRA8,
    "8UC4": _BGRA8,
    "rgb16": _Layout("pixels", "rgb", 3, 2),
    "bgr16": _Layout("pixels", "bgr", 3, 2),
    "rgba16": _Layout("pixels", "rgba", 4, 2),
    "bgra16": _Layout("pixels", "bgra", 4, 2),
    "mono8": _GRAY8,
    "8UC1": _GRAY8,
    "mono16": _GRAY16,
    "bayer_rggb8": _Layout("bayer", "rggb", 1, 1),
    "bayer_bggr8": _Layout("bayer", "bggr", 1, 1),
    "bayer_gbrg8": _Layout("bayer", "gbrg", 1, 1),
    "bayer_grbg8": _Layout("bayer", "grbg", 1, 1),
    "bayer_rggb16": _Layout("bayer", "rggb", 1, 2),
    "bayer_bggr16": _Layout("bayer", "bggr", 1, 2),
    "bayer_gbrg16": _Layout("bayer", "gbrg", 1, 2),
    "bayer_grbg16": _Layout("bayer", "grbg", 1, 2),
    "nv12": _Layout("yuv420", "nv12", 1, 1),
    "nv21": _Layout("yuv420", "nv21", 1, 1),
    "yuv420sp": _Layout("yuv420", "nv12", 1, 1),  # the Android/V4L2 name of NV12
    "yuv422": _Layout("yuv422", "uyvy", 2, 1),  # ROS's yuv422 is UYVY byte order
    "uyvy": _Layout("yuv422", "uyvy", 2, 1),
    "yuv422_yuy2": _Layout("yuv422", "yuyv", 2, 1),
    "yuyv": _Layout("yuv422", "yuyv", 2, 1),
}

# OpenCV names Bayer patterns by the second row's first two pixels: ROS rggb is cv2 BayerBG.
_DEMOSAIC = {
    "rggb": cv2.COLOR_BayerBG2BGR,
    "bggr": cv2.COLOR_BayerRG2BGR,
    "gbrg": cv2.COLOR_BayerGR2BGR,
    "grbg": cv2.COLOR_BayerGB2BGR,
}
_YUV_TO_BGR = {"uyvy": cv2.COLOR_YUV2BGR_UYVY, "yuyv": cv2.COLOR_YUV2BGR_YUYV}
_YUV420_TO_BGR = {"nv12": cv2.COLOR_YUV2BGR_NV12, "nv21": cv2.COLOR_YUV2BGR_NV21}
_BGR_TO_YUV = {"uyvy": cv2.COLOR_BGR2YUV_UYVY, "yuyv": cv2.COLOR_BGR2YUV_YUY2}
_CHANNEL = {"b": 0, "g": 1, "r": 2}


def supported_encodings() -> list[str]:
    return sorted(LAYOUTS)


# --- depth and other non-picture images -------------------------------------------------------

_CV_TYPE = re.compile(r"^(8|16|32|64)([USF])C([1-9][0-9]*)$")
_PICTURE_CV_TYPES = {"8UC1", "8UC3", "8UC4"}  # cv_bridge reads them as mono8, bgr8, bgra8


def is_depth(label: str) -> bool:
    """True for an Image encoding or CompressedImage format that carries depth or other data
    rather than a camera picture: the depth encodings of sensor_msgs/image_encodings (16UC1,
    32FC1), the other OpenCV-type names (nUCm, nSCm, nFCm; not 8UC1/8UC3/8UC4, which cv_bridge
    reads as mono8/bgr8/bgra8) and compressed_depth_image_transport formats ("16UC1;
    compressedDepth png", "32FC1; compressedDepth rvl", ...). Such a frame must never go through
    the colour anonymizer: it would write synthetic values into the depth."""
    text = str(label).strip()
    if "compresseddepth" in text.lower():
        return True
    first = text.split(";", 1)[0].strip()
    return bool(_CV_TYPE.match(first)) and first not in _PICTURE_CV_TYPES


def depth_dtype(encoding: str, is_bigendian: bool = False) -> tuple[np.dtype, int]:
    """(sample dtype, channels) of a raw depth/data encoding (nUCm, nSCm, nFCm)."""
    m = _CV_TYPE.match(str(encoding).strip())
    if m is None:
        raise EncodingError(f"{encoding!r} is not a depth or OpenCV-type encoding (e.g. 16UC1, 32FC1)")
    bits, kind, channels = int(m.group(1)), m.group(2), int(m.group(3))
    if kind == "F" and bits < 32:
        raise EncodingError(f"{encoding!r}: no {bits}-bit float samples in sensor_msgs")
    dtype = np.dtype(f"{'>' if is_bigendian else '<'}{'uif'['USF'.index(kind)]}{bits // 8}")
    return dtype, channels


def _depth_view(image: RawImage, data) -> np.ndarray:
    """(H, W, C) view of a raw depth payload in its own dtype and byte order, padding excluded."""
    dtype, channels = depth_dtype(image.encoding, image.is_bigendian)
    h, w, step = int(image.height), int(image.width), int(image.step)
    row_bytes = w * channels * dtype.itemsize
    if h <= 0 or w <= 0:
        raise EncodingError(f"image has no pixels ({w}x{h})")
    if step < row_bytes:
        raise EncodingError(f"{image.encoding} step {step} is shorter than a row of {w} pixels ({row_bytes} bytes)")
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if buf.size != step * h:
        raise EncodingError(f"{image.encoding} {w}x{h} image, step {step}: needs {step * h} bytes, has {buf.size}")
    return buf.reshape(h, step)[:, :row_bytes].view(dtype).reshape(h, w, channels)


def depth_invalid_value(encoding: str) -> float:
    """What marks a pixel without depth: NaN for float encodings, 0 for integer ones (REP 118)."""
    return float("nan") if depth_dtype(encoding)[0].kind == "f" else 0


def invalidate_depth(image: RawImage, mask: np.ndarray | None = None) -> RawImage:
    """A copy of a raw depth image with the pixels under `mask` (HxW bool; None: all) set to the
    invalid value: 0 for integer depth, NaN for float depth. Nothing else changes; no value is
    ever made up. The row padding is zeroed."""
    data = bytearray(_as_bytes(image.data))
    view = _depth_view(image, data)
    value = depth_invalid_value(image.encoding)
    if mask is None:
        view[...] = value
    else:
        if mask.shape != view.shape[:2]:
            raise EncodingError(f"mask {mask.shape} does not match the depth image {view.shape[:2]}")
        view[mask] = value
    dtype, channels = depth_dtype(image.encoding)
    rows = np.frombuffer(data, np.uint8).reshape(int(image.height), int(image.step))
    rows[:, int(image.width) * channels * dtype.itemsize :] = 0
    return replace(image, data=bytes(data))


def depth_changed_pixels(a: RawImage, b: RawImage) -> np.ndarray:
    """HxW bool: where two raw depth images differ (NaN equals NaN)."""
    if (a.encoding, a.height, a.width) != (b.encoding, b.height, b.width):
        raise EncodingError(f"cannot compare {a.encoding} {a.width}x{a.height} with {b.encoding} {b.width}x{b.height}")
    va, vb = _depth_view(a, _as_bytes(a.data)), _depth_view(b, _as_bytes(b.data))
    diff = va != vb
    if va.dtype.kind == "f":
        diff &= ~(np.isnan(va) & np.isnan(vb))
    return diff.any(axis=2)


def depth_is_invalid(image: RawImage) -> bool:
    """True when every pixel of a raw depth image is the invalid value (0 or NaN)."""
    view = _depth_view(image, _as_bytes(image.data))
    return bool(np.isnan(view).all()) if view.dtype.kind == "f" else not view.any()


# compressed_depth_image_transport: a 12-byte ConfigHeader (int32 format, float32 depthParam[2])
# then a 16-bit PNG (16UC1: the depth in mm; 32FC1: inverse depth quantized, 0 = no depth), or
# RVL data. 0 is "no depth" in both PNG variants.
_DEPTH_HEADER = 12


def compressed_depth_pixels(fmt: str, data: bytes | np.ndarray) -> np.ndarray:
    """The 16-bit samples of a compressedDepth PNG payload (RVL is not decoded: EncodingError)."""
    buf = bytes(_as_bytes(data))
    png = buf[_DEPTH_HEADER:]
    if not png.startswith(_PNG_MAGIC):
        raise EncodingError(f"compressedDepth payload (format {fmt!r}) is not a PNG after its header (RVL?)")
    pixels = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 2:
        raise EncodingError(f"cannot decode the PNG of compressedDepth payload (format {fmt!r})")
    return pixels


def invalidate_compressed_depth(fmt: str, data: bytes | np.ndarray, mask: np.ndarray | None = None) -> bytes:
    """A compressedDepth PNG payload with the pixels under `mask` (None: all) set to 0, no depth;
    the header (and with it the quantization) is kept."""
    pixels = compressed_depth_pixels(fmt, data).copy()
    if mask is None:
        pixels[...] = 0
    else:
        if mask.shape != pixels.shape:
            raise EncodingError(f"mask {mask.shape} does not match the depth image {pixels.shape}")
        pixels[mask] = 0
    return bytes(_as_bytes(data))[:_DEPTH_HEADER] + _encode_pixels(pixels, "png", 90)


def layout_of(encoding: str) -> _Layout:
    layout = LAYOUTS.get(encoding)
    if layout is None:
        raise EncodingError(
            f"unsupported image encoding {encoding!r}: supported are {', '.join(supported_encodings())}"
        )
    return layout


# --- raw sensor_msgs/Image -------------------------------------------------------------------


def to_bgr(image: RawImage, max_pixels: int | None = None) -> np.ndarray:
    """The image as an HxWx3 uint8 BGR frame (a new array). `max_pixels`: refuse (EncodingError)
    an image whose declared width x height is larger, before anything is allocated."""
    layout = layout_of(image.encoding)
    check_pixels(int(image.width), int(image.height), max_pixels, image.encoding)
    return _pixels_to_bgr(_pixel_view(image, layout, image.data), layout)


def check_pixels(width: int, height: int, max_pixels: int | None, what: str) -> None:
    """Refuse a frame larger than the pixel budget (judged from its header, before decoding)."""
    if max_pixels is not None and width * height > max_pixels:
        raise EncodingError(
            f"{what} frame of {width}x{height} = {width * height} pixels is larger than max_frame_pixels "
            f"({max_pixels}); refused before decoding"
        )


def from_bgr(
    frame: np.ndarray,
    original: RawImage,
    *,
    decoded: np.ndarray | None = None,
    replaced: np.ndarray | None = None,
) -> RawImage:
    """`frame` written back in `original`'s encoding, step and endianness; row padding zeroed.

    Pixels where `frame` equals `decoded` (default: `to_bgr(original)`) and `replaced` (HxW bool)
    is False keep their original bytes; all others are encoded from `frame`.
    """
    layout = layout_of(original.encoding)
    decoded = to_bgr(original) if decoded is None else decoded
    changed = _changed_mask(frame, decoded, replaced)
    data = bytearray(_as_bytes(original.data))
    pixels = _pixel_view(original, layout, data)
    _merge(pixels, frame, changed, layout)
    _padding_view(original, layout, data)[...] = 0
    return replace(original, data=bytes(data))


def has_padding_bytes(image: RawImage) -> bool:
    """True when the row padding (step beyond width) holds anything but zeros: bytes the decoder
    never reads, so bytes the anonymizer never saw."""
    layout = layout_of(image.encoding)
    padding = _padding_view(image, layout, _as_bytes(image.data))
    return padding.size > 0 and bool(padding.any())


def zero_padding(image: RawImage) -> RawImage:
    """A copy with the row padding zeroed (pixels untouched)."""
    layout = layout_of(image.encoding)
    data = bytearray(_as_bytes(image.data))
    _padding_view(image, layout, data)[...] = 0
    return replace(image, data=bytes(data))


def encode_bgr(frame: np.ndarray, encoding: str, *, step: int | None = None, is_bigendian: bool = False) -> RawImage:
    """A new image of `frame` (HxWx3 uint8 BGR) in `encoding`; `step` defaults to no padding.
    16-bit encodings get the full range (v * 257), Bayer encodings a re-mosaic, YUV 4:2:2 the
    BT.601 conversion of OpenCV."""
    layout = layout_of(encoding)
    h, w = frame.shape[:2]
    step = w * layout.pixel_bytes if step is None else step
    image = RawImage(encoding, h, w, step, is_bigendian, bytes(step * layout.rows(h)))
    data = bytearray(image.data)
    pixels = _pixel_view(image, layout, data)
    if layout.itemsize == 2:
        # The full range: written as 8 bits, then every sample scaled by 257.
        pixels8 = np.zeros(pixels.shape, np.uint8)
        _merge(pixels8, frame, np.ones((h, w), bool), _as_8bit(layout))
        pixels[...] = pixels8.astype(np.uint16) * 257
    else:
        _merge(pixels, frame, np.ones((h, w), bool), layout)
    return replace(image, data=bytes(data))


def blank_like(original: RawImage) -> RawImage:
    """A black image with `original`'s size, encoding and step; padding bytes zeroed.

    An encoding this module cannot write, or a payload of the wrong size, gives all-zero bytes of
    the same length: still blank, and the message keeps its shape.
    """
    data = bytearray(len(_as_bytes(original.data)))
    try:
        layout = layout_of(original.encoding)
        pixels = _pixel_view(original, layout, data)
    except EncodingError:
        return replace(original, data=bytes(data))
    # Written directly (no BGR frame of the image's size): an oversized frame is blanked cheaply.
    if layout.kind == "yuv422":
        # Black is Y 16 with U and V at 128, as OpenCV's BGR2YUV writes it (UYVY: U Y0 V Y1).
        pixels[...] = 16
        pixels.reshape(pixels.shape[0], -1, 4)[..., [0, 2] if layout.order == "uyvy" else [1, 3]] = 128
    elif layout.kind == "yuv420":
        h = int(original.height)
        pixels[:h] = 16
        pixels[h:] = 128
    elif layout.kind == "pixels" and layout.channels == 4:
        pixels[..., 3] = np.iinfo(pixels.dtype).max  # opaque, as a replaced pixel
    return replace(original, data=bytes(data))


def changed_pixels(a: RawImage, b: RawImage) -> np.ndarray:
    """HxW bool: where two images of the same encoding and size differ, compared in the payload
    (no decoding, so no 16-bit scaling or demosaicing spreads a change). A YUV 4:2:2 pixel pair
    counts as changed together."""
    if (a.encoding, a.height, a.width) != (b.encoding, b.height, b.width):
        raise EncodingError(f"cannot compare {a.encoding} {a.width}x{a.height} with {b.encoding} {b.width}x{b.height}")
    layout = layout_of(a.encoding)
    pa, pb = _pixel_view(a, layout, _as_bytes(a.data)), _pixel_view(b, layout, _as_bytes(b.data))
    diff = pa != pb
    if layout.kind == "yuv422":
        pairs = diff.reshape(a.height, a.width // 2, 4).any(axis=2)
        return np.repeat(pairs, 2, axis=1)
    if layout.kind == "yuv420":
        blocks = _blocks(diff[: a.height]) | diff[a.height :].reshape(a.height // 2, a.width // 2, 2).any(axis=2)
        return np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    return diff if diff.ndim == 2 else diff.any(axis=2)


def _blocks(mask: np.ndarray) -> np.ndarray:
    """(H/2, W/2) bool: the 2x2 blocks of an HxW mask with any pixel set (4:2:0 chroma cells)."""
    h, w = mask.shape
    return mask.reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))


# --- does the payload fit its label? -----------------------------------------------------------

# A genuine image's bytes have no structure at periods its layout does not explain; data under a
# wrong label (bgr8 bytes called mono8 at 3x the width, bgra8 or yuv422 or 16-bit called mono8,
# ...) shows its own period. Measured on real frames (README, "Sanitize rosbags"): genuine
# images stay below 1.2, mislabelled ones start at 1.9.
LAYOUT_RATIO = 1.5
_NATURAL_PERIOD = {"pixels": None, "bayer": 2, "yuv422": 4, "yuv420": 1}  # pixels: bytes per pixel
_PERIOD_GUESS = {
    2: "16-bit samples or yuv422",
    3: "3-channel pixels (bgr8/rgb8)",
    4: "4-channel pixels (bgra8/rgba8) or yuv422",
}
_MIN_ROWS, _MIN_ROW_BYTES = 16, 96
_SAMPLE_ROWS, _SAMPLE_BYTES = 64, 3072  # enough for the statistics; keeps the check at ~1 ms


def check_layout(image: RawImage) -> None:
    """Raise EncodingError when the payload's bytes do not look like its encoding label.

    A frame read under a wrong label is anonymized as the wrong picture: people stretched three
    times as wide, or noise, go undetected and the original bytes would be copied as
    "nothing to replace". Two statistics per period p (2, 3, 4 bytes; those the layout itself
    explains are skipped): the mean step between neighbouring bytes by phase (interleaved
    channels step differently inside a pixel than across pixels) and the mean step between bytes
    p apart by phase (a smooth high byte next to a noisy low one, smooth chroma next to luma).
    Frames too small for the statistics pass unchecked.
    """
    layout = layout_of(image.encoding)
    rows = _pixel_rows(image, layout)
    if rows is None:
        return
    natural = _NATURAL_PERIOD[layout.kind] or layout.pixel_bytes
    for p in (2, 3, 4):
        if natural > 1 and (p % natural == 0 or natural % p == 0):
            continue
        if layout.itemsize == 2 and p % 2 == 0:
            continue  # 16-bit samples explain even periods (a smooth high byte beside a noisy low one)
        ratio = _period_ratio(rows, p)
        if ratio > LAYOUT_RATIO:
            raise EncodingError(
                f"{image.encoding} {image.width}x{image.height} payload does not look like {image.encoding}: its bytes "
                f"repeat with a period of {p} ({ratio:.1f}x between phases), as {_PERIOD_GUESS[p]} under a wrong label "
                "would; read as labelled, its people would go unseen. Fix the encoding the camera driver declares"
            )
    if layout.itemsize == 2:
        _check_byte_order(image, rows)


def _pixel_rows(image: RawImage, layout: _Layout) -> np.ndarray | None:
    """A sample of the payload's pixel bytes as int16 rows (padding excluded), None when too small."""
    h, w = int(image.height), int(image.width)
    row_bytes = w * layout.pixel_bytes
    if h < _MIN_ROWS or row_bytes < _MIN_ROW_BYTES:
        return None
    data = _as_bytes(image.data)
    _pixel_view(image, layout, data)  # validates size and step
    # 4:2:0: the Y plane (the first `h` rows), which reads like mono8.
    rows = np.frombuffer(data, np.uint8).reshape(layout.rows(h), int(image.step))[:h, :row_bytes]
    # A band in the middle, starting on a multiple of 24 bytes: phases of 2, 3, 4 and 8 line up.
    width = min(row_bytes, _SAMPLE_BYTES) // 24 * 24
    start = (row_bytes - width) // 2 // 24 * 24
    return rows[:: max(1, h // _SAMPLE_ROWS), start : start + width].astype(np.int16)


def _period_ratio(rows: np.ndarray, p: int) -> float:
    """max/min over the p phases of the neighbour and period steps (1 plus the mean, so flat
    images stay at 1). Steps across 8-byte block edges are left out of the neighbour statistic:
    JPEG blocks of a frame that was compressed once must not look like a period of 2 or 4."""
    step1 = np.abs(np.diff(rows, axis=1))
    j = np.arange(step1.shape[1])
    inside = j % 8 != 7
    neighbour = [step1[:, (j % p == k) & inside].mean() for k in range(p)]
    stepp = np.abs(rows[:, p:] - rows[:, :-p])
    period = [stepp[:, k::p].mean() for k in range(p)]
    return max((max(s) + 1.0) / (min(s) + 1.0) for s in (neighbour, period))


def _check_byte_order(image: RawImage, rows: np.ndarray) -> None:
    """16-bit samples: the high byte of natural images changes far less than the low byte. A
    constant low byte (8-bit values shifted up: v << 8) says nothing either way."""
    hi, lo = (rows[:, 0::2], rows[:, 1::2]) if image.is_bigendian else (rows[:, 1::2], rows[:, 0::2])
    if lo.min() == lo.max():
        return
    step_hi, step_lo = np.abs(np.diff(hi, axis=1)).mean(), np.abs(np.diff(lo, axis=1)).mean()
    if (step_hi + 1.0) / (step_lo + 1.0) > 2.0:
        raise EncodingError(
            f"{image.encoding} {image.width}x{image.height} payload with is_bigendian={int(bool(image.is_bigendian))}: "
            "its high bytes change more than its low bytes, so the byte order looks wrong; read as labelled, its "
            "people would go unseen. Fix is_bigendian in the camera driver"
        )


def _as_bytes(data: bytes | bytearray | np.ndarray) -> bytes | bytearray | memoryview:
    if isinstance(data, np.ndarray):
        return memoryview(np.ascontiguousarray(data, dtype=np.uint8)).cast("B")
    return data


def _pixel_view(image: RawImage, layout: _Layout, data) -> np.ndarray:
    """A view of the payload's pixels: (H, W) or (H, W, C) in the payload's dtype, padding excluded."""
    h, w, step = int(image.height), int(image.width), int(image.step)
    row_bytes = w * layout.pixel_bytes
    if h <= 0 or w <= 0:
        raise EncodingError(f"image has no pixels ({w}x{h})")
    if step < row_bytes:
        raise EncodingError(
            f"{image.encoding} image step {step} is shorter than a row of {w} pixels ({row_bytes} bytes)"
        )
    if layout.kind == "yuv422" and w % 2:
        raise EncodingError(f"{image.encoding} packs pixel pairs and needs an even width, not {w}")
    if layout.kind == "yuv420" and (w % 2 or h % 2):
        raise EncodingError(f"{image.encoding} shares chroma between 2x2 pixels and needs an even size, not {w}x{h}")
    rows_n = layout.rows(h)
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    if buf.size != step * rows_n:
        need = f"{step * h} bytes" if rows_n == h else f"{step * rows_n} bytes (step x height x 3/2)"
        past = ": bytes past the declared image are never read, so never copied" if buf.size > step * rows_n else ""
        raise EncodingError(
            f"{image.encoding} {w}x{h} image with step {step} needs {need}, the payload has {buf.size}{past}"
        )
    rows = buf.reshape(rows_n, step)[:, :row_bytes]
    if layout.itemsize == 2:
        rows = rows.view(">u2" if image.is_bigendian else "<u2")
    if layout.kind == "yuv422":
        return rows.reshape(h, w, 2)
    if layout.kind == "yuv420":
        return rows  # (H x 3/2, W): the Y plane, then the interleaved chroma
    return rows.reshape(h, w) if layout.channels == 1 else rows.reshape(h, w, layout.channels)


def _padding_view(image: RawImage, layout: _Layout, data) -> np.ndarray:
    """(H, step - row bytes) view of the row padding; the payload is validated as by _pixel_view."""
    _pixel_view(image, layout, data)
    h, w, step = int(image.height), int(image.width), int(image.step)
    buf = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1)
    return buf.reshape(layout.rows(h), step)[:, w * layout.pixel_bytes :]


def _pixels_to_bgr(pixels: np.ndarray, layout: _Layout) -> np.ndarray:
    if layout.itemsize == 2:  # 16-bit: onto 0..255 by the image's own range, then as 8 bits
        return _pixels_to_bgr(_to_8bit(pixels, *_range16(pixels, layout)), _as_8bit(layout))
    if layout.kind == "bayer":
        return cv2.cvtColor(np.ascontiguousarray(pixels), _DEMOSAIC[layout.order])
    if layout.kind == "yuv422":
        return cv2.cvtColor(np.ascontiguousarray(pixels), _YUV_TO_BGR[layout.order])
    if layout.kind == "yuv420":
        return cv2.cvtColor(np.ascontiguousarray(pixels), _YUV420_TO_BGR[layout.order])
    if layout.order == "gray":
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_GRAY2BGR)
    if layout.order in ("rgb", "rgba"):
        return np.ascontiguousarray(pixels[..., 2::-1])
    return np.ascontiguousarray(pixels[..., :3])


def _as_8bit(layout: _Layout) -> _Layout:
    return _Layout(layout.kind, layout.order, layout.channels, 1)


def _to_8bit(pixels16: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scaled = (pixels16.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _range16(pixels16: np.ndarray, layout: _Layout) -> tuple[float, float]:
    """The span mapped onto 0..255. A fixed >>8 would leave 12-bit cameras almost black (and so
    their people undetected); percentiles keep a few hot pixels from flattening the contrast. One
    span for all colour channels (their balance stays), alpha left out."""
    if layout.kind == "pixels" and layout.channels == 4:
        pixels16 = pixels16[..., :3]
    lo, hi = np.percentile(pixels16, (0.5, 99.5))
    return float(lo), float(max(hi, lo + 1.0))


def _changed_mask(frame: np.ndarray, decoded: np.ndarray, replaced: np.ndarray | None) -> np.ndarray:
    if frame.shape != decoded.shape or frame.dtype != np.uint8:
        raise EncodingError(f"frame {frame.shape} {frame.dtype} does not match the image {decoded.shape} uint8")
    # Per-channel compares OR-ed together: ~8x faster than np.any(..., axis=2) at 768x576.
    changed = frame[..., 0] != decoded[..., 0]
    changed |= frame[..., 1] != decoded[..., 1]
    changed |= frame[..., 2] != decoded[..., 2]
    if replaced is not None:
        if replaced.shape != changed.shape:
            raise EncodingError(f"replaced mask {replaced.shape} does not match the image {changed.shape}")
        changed |= replaced
    return changed


def _merge(pixels: np.ndarray, frame: np.ndarray, changed: np.ndarray, layout: _Layout) -> None:
    """Write `frame`'s pixels into the (writable) payload view where `changed`."""
    if not changed.any():
        return
    if layout.itemsize == 2:
        # 16-bit: the new 8-bit samples mapped back into the original's range (as decoding mapped
        # that range onto 0..255); unchanged samples keep every bit.
        lo, hi = _range16(pixels, layout)
        new = np.zeros(pixels.shape, np.uint8)
        _merge(new, frame, changed, _as_8bit(layout))
        values = np.rint(lo + new[changed].astype(np.float32) * ((hi - lo) / 255.0)).astype(np.uint16)
        if layout.kind == "pixels" and layout.channels == 4:
            values[:, 3] = 0xFFFF  # opaque, as for 8 bits
        pixels[changed] = values
        return
    if layout.kind == "yuv420":
        # A 2x2 block shares one chroma pair: a changed pixel re-encodes its block.
        h, w = changed.shape
        blocks = _blocks(changed)
        i420 = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGR2YUV_I420)
        flat, quarter = i420.reshape(-1), (h // 2) * (w // 2)  # Y, then the U plane, then the V plane
        u = flat[h * w : h * w + quarter].reshape(h // 2, w // 2)
        v = flat[h * w + quarter :].reshape(h // 2, w // 2)
        chroma = np.stack([u, v] if layout.order == "nv12" else [v, u], axis=-1)
        in_block = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
        pixels[:h][in_block] = i420[:h][in_block]
        pixels[h:].reshape(h // 2, w // 2, 2)[blocks] = chroma[blocks]
        return
    if layout.kind == "yuv422":
        # Two horizontal pixels share one U and one V: a changed pixel re-encodes its pair.
        h, w = changed.shape
        pair = changed.reshape(h, w // 2, 2).any(axis=2)
        new = cv2.cvtColor(np.ascontiguousarray(frame), _BGR_TO_YUV[layout.order]).reshape(h, w // 2, 4)
        pixels.reshape(h, w // 2, 4)[pair] = new[pair]
        return
    if layout.kind == "bayer":
        new = np.empty(changed.shape, np.uint8)
        for i, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            new[dy::2, dx::2] = frame[dy::2, dx::2, _CHANNEL[layout.order[i]]]
        pixels[changed] = new[changed]
        return
    if layout.order == "gray":
        gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGR2GRAY)
        pixels[changed] = gray[changed]
        return
    colour = frame[changed]  # (N, 3) BGR
    if layout.order in ("rgb", "rgba"):
        colour = colour[:, ::-1]
    if layout.channels == 4:
        # A replaced pixel is made opaque: its original alpha could still outline the person.
        colour = np.concatenate([colour, np.full((len(colour), 1), 255, np.uint8)], axis=1)
    pixels[changed] = colour


# --- sensor_msgs/CompressedImage -------------------------------------------------------------

_JPEG_MAGIC, _PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def compressed_codec(fmt: str, data: bytes | np.ndarray) -> str:
    """'jpeg' or 'png'. The bytes decide (a format string can be stale or empty); the format
    string is the fallback for error messages."""
    head = bytes(_as_bytes(data)[:8])
    if head.startswith(_JPEG_MAGIC):
        return "jpeg"
    if head.startswith(_PNG_MAGIC):
        return "png"
    raise EncodingError(
        f"compressed image with format {fmt!r} is neither JPEG nor PNG data "
        f"(starts with {head[:4].hex() or 'nothing'}); only jpeg and png are supported"
    )


def decode_compressed(fmt: str, data: bytes | np.ndarray, max_pixels: int | None = None) -> np.ndarray:
    """The compressed image as an HxWx3 uint8 BGR frame. `max_pixels`: refuse (EncodingError) an
    image whose header declares more pixels, before the decoder allocates them."""
    if max_pixels is not None:
        try:
            height, width = compressed_size(fmt, data)
        except EncodingError as e:
            codec = compressed_codec(fmt, data)
            raise EncodingError(
                f"cannot decode {codec} data of compressed image (format {fmt!r}): corrupt or truncated ({e})"
            ) from e
        check_pixels(width, height, max_pixels, compressed_codec(fmt, data).upper())
    return _pixels_to_bgr(*_decode_pixels(fmt, data))


def compressed_size(fmt: str, data: bytes | np.ndarray) -> tuple[int, int]:
    """(height, width) from the JPEG frame header (SOFn) or the PNG IHDR chunk, without decoding."""
    codec = compressed_codec(fmt, data)
    buf = bytes(_as_bytes(data))
    if codec == "png":
        if len(buf) < 24 or buf[12:16] != b"IHDR":
            raise EncodingError(f"PNG data of compressed image (format {fmt!r}) does not start with its IHDR chunk")
        return int.from_bytes(buf[20:24], "big"), int.from_bytes(buf[16:20], "big")
    for marker, start, stop in _jpeg_segments(buf):
        if marker in _JPEG_SOF:
            size = _sof_size(buf[start:stop])
            if size is None:
                break
            if 0 in size:
                raise EncodingError(
                    f"JPEG data of compressed image (format {fmt!r}) declares a {size[1]}x{size[0]} frame"
                )
            return size
        if marker == 0xDA:
            break
    raise EncodingError(f"JPEG data of compressed image (format {fmt!r}) has no frame header before its first scan")


def _sof_size(segment: bytes) -> tuple[int, int] | None:
    """(height, width) of a JPEG frame header segment (SOFn), None if it is cut short."""
    body = segment.lstrip(b"\xff")[1:]  # length, precision, height, width, ...
    if len(body) < 7:
        return None
    return int.from_bytes(body[3:5], "big"), int.from_bytes(body[5:7], "big")


def jpeg_check(data: bytes | np.ndarray) -> tuple[bool, tuple[int, int] | None]:
    """(complete, (height, width) from its frame header or None) of a JPEG. Complete: its
    segments and entropy-coded data run to the end marker (EOI), whatever follows it.
    libjpeg decodes a truncated file with only a warning (grey rows); this walk finds it."""
    buf = bytes(_as_bytes(data))
    size = None
    try:
        for marker, start, stop in _jpeg_segments(buf):
            if marker in _JPEG_SOF and size is None:
                size = _sof_size(buf[start:stop])
    except EncodingError:
        return False, size
    return True, size  # the walk ends at EOI, or raises


def scrub_compressed(fmt: str, data: bytes | np.ndarray) -> tuple[bytes, list[str]] | None:
    """The payload without what a decoder does not read, or None when there is nothing such.

    JPEG keeps its frame, tables, restart interval and scans, a plain JFIF header (without a
    thumbnail) and an Adobe colour-transform marker; it loses every other APPn segment (EXIF and
    its thumbnail, XMP, ICC, MPF, maker notes), comments and anything after the end of the image
    (a second image, appended data). PNG keeps IHDR, PLTE, tRNS, IDAT and IEND; it loses text,
    EXIF, animation frames and anything after IEND. Returns (bytes, what was removed); the
    caller must check that the scrubbed bytes decode to the same pixels (`same_pixels`).
    Raises EncodingError when the structure cannot be followed.
    """
    buf = bytes(_as_bytes(data))
    if compressed_codec(fmt, buf) == "png":
        return _scrub_png(buf)
    kept, removed, end = [buf[:2]], [], 2
    for marker, start, stop in _jpeg_segments(buf):
        end = stop
        segment = buf[start:stop]
        if _jpeg_keep(marker, segment):
            kept.append(segment)
        else:
            removed.append(_JPEG_NAMES.get(marker, f"marker 0x{marker:02X}"))
    if end < len(buf):
        removed.append(f"{len(buf) - end} byte(s) after the end of the image")
    if not removed:
        return None
    return b"".join(kept), sorted(set(removed))


def reencode_compressed(fmt: str, data: bytes | np.ndarray, jpeg_quality: int = 90) -> bytes:
    """The payload's pixels encoded afresh in its codec, channels and bit depth: nothing but them."""
    pixels, _ = _decode_pixels(fmt, data)
    return _encode_pixels(pixels, compressed_codec(fmt, data), jpeg_quality)


def same_pixels(fmt: str, a: bytes | np.ndarray, b: bytes | np.ndarray) -> bool:
    """True when two compressed payloads decode to identical pixels (at their own bit depth)."""
    try:
        pa, pb = _decode_pixels(fmt, a)[0], _decode_pixels(fmt, b)[0]
    except EncodingError:
        return False
    return pa.shape == pb.shape and pa.dtype == pb.dtype and np.array_equal(pa, pb)


# JPEG markers: frame headers (SOF0-3, 5-7, 9-11, 13-15), then what decoding needs besides them.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_DECODING = _JPEG_SOF | {0xC4, 0xCC, 0xDB, 0xDD, 0xDA, 0xD9, 0xDC} | set(range(0xD0, 0xD8))
_JPEG_NAMES = {0xFE: "COM (comment)", 0xE0: "APP0 (other than a plain JFIF header)", 0xE1: "APP1 (EXIF/XMP)",
               0xE2: "APP2 (ICC/MPF)", 0xEE: "APP14 (other than Adobe)"}  # fmt: skip
_PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def _jpeg_keep(marker: int, segment: bytes) -> bool:
    if marker in _JPEG_DECODING:
        return True
    payload = segment.lstrip(b"\xff")[1:]
    if marker == 0xE0:  # JFIF: 16 bytes with no thumbnail (width and height 0)
        return len(payload) == 16 and payload[2:7] == b"JFIF\x00" and payload[14:16] == b"\x00\x00"
    if marker == 0xEE:  # Adobe: tells the decoder the colour transform
        return len(payload) == 14 and payload[2:7] == b"Adobe"
    return False


def _jpeg_segments(buf: bytes):
    """(marker, start, end) of each segment after SOI, up to and including EOI. A scan's entropy-
    coded data belongs to its SOS segment (it ends at the first marker that is not a stuffed
    0xFF00 or a restart marker). Raises EncodingError where the structure breaks."""
    n, pos = len(buf), 2
    if buf[:2] != b"\xff\xd8":
        raise EncodingError("JPEG data does not start with SOI")
    while True:
        if pos >= n:
            raise EncodingError("JPEG data ends without its EOI marker")
        if buf[pos] != 0xFF:
            raise EncodingError(f"JPEG data has {buf[pos]:#04x} where a marker belongs (byte {pos})")
        start = pos
        while pos < n and buf[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise EncodingError("JPEG data ends inside a marker")
        marker = buf[pos]
        pos += 1
        if marker == 0xD9:
            yield marker, start, pos
            return
        if marker in (0x00, 0xD8):
            raise EncodingError(f"JPEG data has a misplaced marker 0x{marker:02X} (byte {start})")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            yield marker, start, pos
            continue
        if pos + 2 > n:
            raise EncodingError("JPEG data ends inside a segment header")
        length = int.from_bytes(buf[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            raise EncodingError(f"JPEG segment 0x{marker:02X} at byte {start} runs past the end of the data")
        pos += length
        if marker == 0xDA:
            while True:
                i = buf.find(b"\xff", pos)
                if i < 0 or i + 1 >= n:
                    raise EncodingError("JPEG data ends inside a scan, without its EOI marker")
                following = buf[i + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos = i + 1 if following == 0xFF else i + 2
                    continue
                pos = i
                break
        yield marker, start, pos


def _scrub_png(buf: bytes) -> tuple[bytes, list[str]] | None:
    kept, removed, pos, n = [buf[:8]], [], 8, len(buf)
    while True:
        if pos + 12 > n:
            raise EncodingError("PNG data ends without its IEND chunk")
        length = int.from_bytes(buf[pos : pos + 4], "big")
        kind = buf[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > n:
            raise EncodingError(f"PNG chunk {kind!r} at byte {pos} runs past the end of the data")
        if kind in _PNG_KEEP:
            kept.append(buf[pos:end])
        else:
            removed.append(f"PNG {kind.decode('latin-1')} chunk")
        pos = end
        if kind == b"IEND":
            break
    if pos < n:
        removed.append(f"{n - pos} byte(s) after the end of the image")
    if not removed:
        return None
    return b"".join(kept), sorted(set(removed))


def encode_compressed(
    frame: np.ndarray,
    fmt: str,
    original: bytes | np.ndarray,
    *,
    decoded: np.ndarray | None = None,
    replaced: np.ndarray | None = None,
    jpeg_quality: int = 90,
) -> bytes:
    """`frame` compressed like `original` (same codec, channels and bit depth; the format string
    is the caller's to keep). Unchanged pixels keep their decoded values, as for raw images."""
    pixels, layout = _decode_pixels(fmt, original)
    decoded = _pixels_to_bgr(pixels, layout) if decoded is None else decoded
    changed = _changed_mask(frame, decoded, replaced)
    pixels = pixels.copy()
    _merge(pixels, frame, changed, layout)
    return _encode_pixels(pixels, compressed_codec(fmt, original), jpeg_quality)


def blank_compressed(fmt: str, height: int, width: int, original: bytes | np.ndarray | None = None) -> bytes:
    """A black image of the given size in the original's codec (else the format string's, else
    JPEG); grey when the format string names a mono encoding, colour otherwise."""
    try:
        codec = compressed_codec(fmt, original) if original is not None else _codec_from_format(fmt)
    except EncodingError:
        codec = _codec_from_format(fmt)
    shape = (height, width) if "mono" in fmt.lower() else (height, width, 3)
    return _encode_pixels(np.zeros(shape, np.uint8), codec, 90)


def compressed_changed_pixels(fmt: str, a: bytes | np.ndarray, b: bytes | np.ndarray) -> np.ndarray:
    """HxW bool: where two compressed images differ after decoding (at their own bit depth)."""
    pa, pb = _decode_pixels(fmt, a)[0], _decode_pixels(fmt, b)[0]
    if pa.shape != pb.shape or pa.dtype != pb.dtype:
        raise EncodingError(f"cannot compare a {pa.shape} {pa.dtype} image with a {pb.shape} {pb.dtype} one")
    diff = pa != pb
    return diff if diff.ndim == 2 else diff.any(axis=2)


def _codec_from_format(fmt: str) -> str:
    return "png" if "png" in fmt.lower() else "jpeg"


def _decode_pixels(fmt: str, data: bytes | np.ndarray) -> tuple[np.ndarray, _Layout]:
    codec = compressed_codec(fmt, data)
    if "compresseddepth" in fmt.lower():
        raise EncodingError(f"compressed image format {fmt!r} (compressedDepth) is not supported")
    buf = np.frombuffer(_as_bytes(data), np.uint8)
    pixels = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise EncodingError(f"cannot decode {codec} data of compressed image (format {fmt!r}): corrupt or truncated")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    layouts = {(1, 1): _GRAY8, (1, 2): _GRAY16, (3, 1): _BGR8, (4, 1): _BGRA8}
    layout = layouts.get((channels, pixels.dtype.itemsize))
    if layout is None:
        raise EncodingError(f"compressed image (format {fmt!r}) has {channels} channel(s) of {pixels.dtype}")
    return pixels, layout


def _encode_pixels(pixels: np.ndarray, codec: str, jpeg_quality: int) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if codec == "jpeg" else []
    ok, buf = cv2.imencode(".jpg" if codec == "jpeg" else ".png", pixels, params)
    if not ok:
        raise EncodingError(f"cannot encode a {pixels.shape} {pixels.dtype} image as {codec}")
    return buf.tobytes()
