"""sensor_msgs Image/CompressedImage payloads <-> BGR frames, on real frames."""

import dataclasses

import cv2
import numpy as np
import pytest

from inspire_ros.boxes import union_mask
from inspire_ros.io import encodings
from inspire_ros.pipeline import Anonymizer

from support import CompressedImageMsg as CompressedImage
from support import ImageMsg as Image

LOSSLESS_8BIT = ["rgb8", "bgr8", "rgba8", "bgra8", "8UC3", "8UC4"]


def small(frame: np.ndarray, width: int = 320) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(frame, (width, round(h * width / w) // 2 * 2), interpolation=cv2.INTER_AREA)


def mono16_12bit(frame: np.ndarray, big_endian: bool = False, pad: int = 0) -> encodings.RawImage:
    """A 12-bit camera's frame as mono16: values 0..4095 with noise in the low bits."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 16
    gray += np.random.default_rng(0).integers(0, 16, gray.shape, dtype=np.uint16)
    h, w = gray.shape
    rows = np.zeros((h, w * 2 + pad), np.uint8)
    rows[:, : w * 2] = gray.astype(">u2" if big_endian else "<u2").view(np.uint8).reshape(h, w * 2)
    return encodings.RawImage("mono16", h, w, w * 2 + pad, big_endian, rows.tobytes())


def sixteen_bit(frame: np.ndarray, encoding: str, big_endian: bool = False) -> encodings.RawImage:
    """A 12-bit camera's frame in a 16-bit colour or Bayer encoding: values 0..4095, noisy low bits."""
    image = encodings.encode_bgr(frame, encoding, is_bigendian=big_endian)
    dtype = ">u2" if big_endian else "<u2"
    values = np.frombuffer(image.data, dtype) // 257 * 16
    values = values + np.random.default_rng(0).integers(0, 16, values.shape, dtype=np.uint16)
    return dataclasses.replace(image, data=values.astype(dtype).tobytes())


def changed_pixels(a: encodings.RawImage, b: encodings.RawImage) -> np.ndarray:
    """HxW bool: pixels whose payload bytes differ (pixel pairs for YUV 4:2:2, 2x2 blocks for 4:2:0)."""
    layout = encodings.layout_of(a.encoding)
    if layout.kind == "yuv420":
        h, w = a.height, a.width
        pa = np.frombuffer(a.data, np.uint8).reshape(-1, a.step)[:, :w]
        pb = np.frombuffer(b.data, np.uint8).reshape(-1, b.step)[:, :w]
        blocks = (pa[:h] != pb[:h]).reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))
        blocks |= (pa[h:] != pb[h:]).reshape(h // 2, w // 2, 2).any(axis=2)
        return np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    bpp = layout.channels * layout.itemsize
    rows_a = np.frombuffer(a.data, np.uint8).reshape(a.height, a.step)[:, : a.width * bpp]
    rows_b = np.frombuffer(b.data, np.uint8).reshape(b.height, b.step)[:, : b.width * bpp]
    return np.any((rows_a != rows_b).reshape(a.height, a.width, bpp), axis=2)


@pytest.mark.parametrize("encoding", encodings.supported_encodings())
def test_untouched_round_trip_is_exact(encoding, vtest_frames, camvid_frames):
    for frame in (small(vtest_frames[1]), small(camvid_frames[0])):
        h, w = frame.shape[:2]
        layout = encodings.layout_of(encoding)
        step = w * layout.channels * layout.itemsize + 8  # row padding, as some drivers add
        image = encodings.encode_bgr(frame, encoding, step=step)
        assert (image.height, image.width, image.step, len(image.data)) == (h, w, step, step * layout.rows(h))
        decoded = encodings.to_bgr(image)
        assert decoded.shape == frame.shape and decoded.dtype == np.uint8
        if encoding in LOSSLESS_8BIT:
            assert np.array_equal(decoded, frame)
        back = encodings.from_bgr(decoded, image)
        assert back.data == image.data and back.step == step and back.encoding == encoding


@pytest.mark.parametrize("big_endian", [False, True])
def test_mono16_keeps_every_bit_and_is_visible(big_endian, camvid_frames):
    image = mono16_12bit(small(camvid_frames[1]), big_endian, pad=4)
    decoded = encodings.to_bgr(image)
    # A 12-bit image shifted right by 8 would be nearly black; the detector needs contrast.
    assert decoded.max() >= 250 and decoded.std() > 30
    assert encodings.from_bgr(decoded, image).data == image.data


def test_yuv422_byte_orders_differ(vtest_frames):
    frame = small(vtest_frames[0])
    uyvy, yuyv = encodings.encode_bgr(frame, "yuv422"), encodings.encode_bgr(frame, "yuv422_yuy2")
    u = np.frombuffer(uyvy.data, np.uint8).reshape(-1, 4)
    y = np.frombuffer(yuyv.data, np.uint8).reshape(-1, 4)
    assert np.array_equal(u[:, [1, 0, 3, 2]], y)  # U Y0 V Y1 vs Y0 U Y1 V
    assert np.abs(encodings.to_bgr(uyvy).astype(int) - frame).mean() < 3


SIXTEEN = ["rgb16", "bgr16", "rgba16", "bgra16", "bayer_rggb16", "bayer_bggr16", "bayer_gbrg16", "bayer_grbg16"]


@pytest.mark.parametrize(
    "encoding",
    ["bgr8", "rgb8", "rgba8", "mono8", "mono16", "bayer_rggb8", "bayer_grbg8", "yuv422", "yuyv", "nv12", "nv21"]
    + SIXTEEN,
)
def test_anonymization_changes_only_replaced_pixels(encoding, default_cfg, vtest_frames):
    anonymizer = Anonymizer(default_cfg.replace(seed=0))
    frame = vtest_frames[1]  # 768x576, several pedestrians
    if encoding == "mono16":
        image = mono16_12bit(frame)
    elif encoding in SIXTEEN:
        image = sixteen_bit(frame, encoding)
    else:
        image = encodings.encode_bgr(frame, encoding)
    decoded = encodings.to_bgr(image)
    out, instances = anonymizer.anonymize(decoded)
    assert instances, "the detector should find the pedestrians"
    replaced = union_mask(decoded.shape, instances)
    result = encodings.from_bgr(out, image, decoded=decoded, replaced=replaced)
    assert len(result.data) == len(image.data) and result.encoding == encoding
    changed = changed_pixels(image, result)
    assert changed.any()
    allowed = replaced
    if encodings.layout_of(encoding).kind == "yuv422":  # a replaced pixel re-encodes its pair
        h, w = replaced.shape
        allowed = np.repeat(replaced.reshape(h, w // 2, 2).any(axis=2), 2, axis=1)
    if encodings.layout_of(encoding).kind == "yuv420":  # ... its 2x2 block
        h, w = replaced.shape
        blocks = replaced.reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3))
        allowed = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)
    assert not (changed & ~allowed).any()
    # And what was replaced is what the anonymizer produced (up to the encoding's precision).
    decoded_out = encodings.to_bgr(result)
    inside = replaced & np.any(out != decoded, axis=2)
    gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    if encoding == "mono8":
        assert np.abs(decoded_out[..., 0][inside].astype(int) - gray[inside]).max() <= 1
    elif encoding == "mono16":
        # Scaled back into the original's range: a linear map of the 8-bit grey values.
        values = np.frombuffer(result.data, "<u2").reshape(gray.shape)[inside].astype(float)
        assert np.corrcoef(values, gray[inside])[0, 1] > 0.999
    elif encoding in SIXTEEN:
        # Back in the original's 12-bit range, a linear map of the replaced 8-bit values.
        layout = encodings.layout_of(encoding)
        values = np.frombuffer(result.data, "<u2").reshape(image.height, image.width, -1)
        assert values[inside][:, :3].max() <= 4095 + 16
        if layout.kind == "pixels":
            rgb = out[inside] if layout.order.startswith("bgr") else out[inside][:, ::-1]
            assert np.corrcoef(values[inside][:, :3].ravel().astype(float), rgb.ravel())[0, 1] > 0.999
            if layout.channels == 4:
                assert (values[inside][:, 3] == 0xFFFF).all()  # replaced pixels are opaque
    elif encodings.layout_of(encoding).kind == "yuv420":
        assert np.abs(decoded_out[inside].astype(int) - out[inside]).mean() < 12
    elif encodings.layout_of(encoding).kind == "pixels":
        assert np.array_equal(decoded_out[inside], out[inside])


def test_blank_like_is_black_with_the_same_shape(camvid_frames):
    frame = small(camvid_frames[2])
    for encoding in encodings.supported_encodings():
        image = encodings.encode_bgr(frame, encoding, step=None)
        blank = encodings.blank_like(image)
        assert len(blank.data) == len(image.data) and blank.encoding == encoding
        assert encodings.to_bgr(blank).max() == 0, encoding
    # An encoding it cannot write still gives a blank of the same length.
    odd = encodings.RawImage("32FC1", 4, 4, 16, False, b"\x01" * 64)
    assert encodings.blank_like(odd).data == bytes(64)


def test_errors_name_the_problem():
    with pytest.raises(encodings.EncodingError, match="'32FC1'.*supported are"):
        encodings.to_bgr(encodings.RawImage("32FC1", 2, 2, 8, False, bytes(16)))
    with pytest.raises(encodings.EncodingError, match="needs 1200 bytes, the payload has 100"):
        encodings.to_bgr(encodings.RawImage("rgb8", 20, 20, 60, False, bytes(100)))
    with pytest.raises(encodings.EncodingError, match="step 30 is shorter"):
        encodings.to_bgr(encodings.RawImage("rgb8", 20, 20, 30, False, bytes(600)))
    with pytest.raises(encodings.EncodingError, match="even width"):
        encodings.to_bgr(encodings.RawImage("yuv422", 2, 3, 6, False, bytes(12)))
    with pytest.raises(encodings.EncodingError, match="neither JPEG nor PNG"):
        encodings.decode_compressed("jpeg", b"GIF89a....")
    with pytest.raises(encodings.EncodingError, match="corrupt or truncated"):
        encodings.decode_compressed("jpeg", b"\xff\xd8\xff" + bytes(50))


def test_compressed_png_round_trip_is_exact(bus):
    frame = small(bus, 240)
    for pixels in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)):
        data = cv2.imencode(".png", pixels)[1].tobytes()
        decoded = encodings.decode_compressed("png", data)
        again = encodings.encode_compressed(decoded, "bgr8; png compressed bgr8", data)
        assert np.array_equal(cv2.imdecode(np.frombuffer(again, np.uint8), cv2.IMREAD_UNCHANGED), pixels)


def test_compressed_jpeg_keeps_codec_channels_and_size(default_cfg, vtest_frames):
    frame = small(vtest_frames[2], 480)
    for fmt, pixels in (
        ("rgb8; jpeg compressed bgr8", frame),
        ("mono8; jpeg compressed mono8", cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)),
    ):
        data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        assert encodings.compressed_codec(fmt, data) == "jpeg"
        decoded = encodings.decode_compressed(fmt, data)
        out, instances = Anonymizer(default_cfg.replace(seed=0)).anonymize(decoded)
        new = encodings.encode_compressed(out, fmt, data, decoded=decoded)
        assert new[:3] == b"\xff\xd8\xff"
        back = cv2.imdecode(np.frombuffer(new, np.uint8), cv2.IMREAD_UNCHANGED)
        assert back.shape == pixels.shape
    blank = encodings.blank_compressed("mono8; png compressed mono8", 10, 12)
    assert cv2.imdecode(np.frombuffer(blank, np.uint8), cv2.IMREAD_UNCHANGED).shape == (10, 12)


def test_layout_check_passes_real_frames_in_every_encoding(real_frames):
    """No false alarms: real frames in each encoding, and grey frames that went through heavy JPEG
    compression once (8x8 blocks at a period of 2 and 4)."""
    for frame in real_frames:
        frame = small(frame, 384)
        for encoding in encodings.supported_encodings():
            encodings.check_layout(encodings.encode_bgr(frame, encoding, step=None))
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        blocky = cv2.imdecode(cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 5])[1], cv2.IMREAD_UNCHANGED)
        encodings.check_layout(encodings.RawImage("mono8", *blocky.shape, blocky.shape[1], False, blocky.tobytes()))
        encodings.check_layout(mono16_12bit(frame, big_endian=True))
        shifted = (gray.astype(np.uint16) << 8).astype(">u2")  # 8-bit values in the high byte
        encodings.check_layout(encodings.RawImage("mono16", *gray.shape, gray.shape[1] * 2, True, shifted.tobytes()))


@pytest.mark.parametrize(
    ("true", "label", "width_factor"),
    [
        ("bgr8", "mono8", 3),
        ("rgb8", "8UC1", 3),
        ("bgra8", "mono8", 4),
        ("yuv422", "mono8", 2),
        ("mono16", "mono8", 2),
        ("bgr8", "bayer_rggb8", 3),
        ("bgr8", "mono16", 1.5),
        ("bgr8", "bgra8", 0.75),
        ("bgr8", "yuv422", 1.5),
    ],
)
def test_layout_check_refuses_bytes_under_a_wrong_label(true, label, width_factor, real_frames):
    for frame in real_frames:
        frame = small(frame, 384)
        raw = encodings.encode_bgr(frame, true)
        wrong = encodings.RawImage(label, raw.height, int(raw.width * width_factor), raw.step, False, raw.data)
        with pytest.raises(encodings.EncodingError, match=f"does not look like {label}"):
            encodings.check_layout(wrong)


def test_layout_check_refuses_a_wrong_byte_order(real_frames):
    for frame in real_frames:
        image = mono16_12bit(small(frame, 384), big_endian=False)
        with pytest.raises(encodings.EncodingError, match="byte order looks wrong"):
            encodings.check_layout(dataclasses.replace(image, is_bigendian=True))


def test_compressed_size_is_read_from_the_header(bus):
    frame = small(bus, 200)
    jpeg, png = cv2.imencode(".jpg", frame)[1].tobytes(), cv2.imencode(".png", frame)[1].tobytes()
    assert encodings.compressed_size("jpeg", jpeg) == encodings.compressed_size("png", png) == frame.shape[:2]
    # A JPEG header claiming 60000x60000 over a few bytes is refused before the decoder runs.
    sof = jpeg.index(b"\xff\xc0")
    bomb = jpeg[: sof + 5] + (60000).to_bytes(2, "big") * 2 + jpeg[sof + 9 :]
    with pytest.raises(encodings.EncodingError, match="60000x60000 = 3600000000 pixels is larger than max_frame"):
        encodings.decode_compressed("jpeg", bomb, max_pixels=33_177_600)


def test_scrub_keeps_the_pixels_and_drops_exif_thumbnails(bus):
    frame = small(bus, 200)
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    thumb = cv2.imencode(".jpg", small(bus, 40))[1].tobytes()  # the original, small: an EXIF thumbnail
    app1 = b"\xff\xe1" + (len(thumb) + 8).to_bytes(2, "big") + b"Exif\x00\x00" + thumb
    with_thumb = jpeg[:2] + app1 + jpeg[2:]
    cleaned, removed = encodings.scrub_compressed("jpeg", with_thumb)
    assert cleaned == jpeg and removed == ["APP1 (EXIF/XMP)"]
    assert encodings.same_pixels("jpeg", with_thumb, cleaned)
    assert encodings.scrub_compressed("jpeg", jpeg) is None  # OpenCV's own JPEGs: nothing to remove


@pytest.mark.parametrize("encoding", SIXTEEN)
@pytest.mark.parametrize("big_endian", [False, True])
def test_16bit_colour_and_bayer_keep_every_bit_and_are_visible(encoding, big_endian, camvid_frames):
    image = sixteen_bit(small(camvid_frames[1]), encoding, big_endian)
    decoded = encodings.to_bgr(image)
    # 12-bit values shifted right by 8 would be nearly black: scaled by the image's range instead.
    assert decoded.max() >= 240 and decoded.std() > 30
    assert encodings.from_bgr(decoded, image).data == image.data
    encodings.check_layout(image)  # 12-bit data with noisy low bytes is no false alarm
    with pytest.raises(encodings.EncodingError, match="byte order looks wrong"):
        encodings.check_layout(dataclasses.replace(image, is_bigendian=not big_endian))


@pytest.mark.parametrize("encoding", ["nv12", "nv21", "yuv420sp"])
def test_nv12_nv21_layout_and_colours(encoding, vtest_frames):
    frame = small(vtest_frames[0])
    h, w = frame.shape[:2]
    image = encodings.encode_bgr(frame, encoding, step=w + 16)
    assert len(image.data) == (w + 16) * h * 3 // 2  # Y rows, then half as many chroma rows
    y = np.frombuffer(image.data, np.uint8).reshape(-1, w + 16)
    assert np.abs(y[:h, :w].astype(int) - cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)[:h]).max() == 0
    assert np.abs(encodings.to_bgr(image).astype(int) - frame).mean() < 4
    nv12, nv21 = encodings.encode_bgr(frame, "nv12"), encodings.encode_bgr(frame, "nv21")
    c12 = np.frombuffer(nv12.data, np.uint8)[h * w :].reshape(-1, 2)
    c21 = np.frombuffer(nv21.data, np.uint8)[h * w :].reshape(-1, 2)
    assert np.array_equal(c12[:, ::-1], c21)  # U V vs V U
    with pytest.raises(encodings.EncodingError, match="even size"):
        encodings.to_bgr(encodings.RawImage(encoding, 3, 4, 4, False, bytes(16)))
    with pytest.raises(encodings.EncodingError, match=r"step x height x 3/2"):
        encodings.to_bgr(dataclasses.replace(image, data=image.data[: (w + 16) * h]))


@pytest.mark.parametrize(
    ("label", "depth"),
    [
        ("16UC1", True),
        ("32FC1", True),
        ("16SC1", True),
        ("64FC1", True),
        ("32SC3", True),
        ("8SC1", True),
        ("16UC1; compressedDepth png", True),
        ("32FC1; compressedDepth rvl", True),
        ("compressedDepth", True),
        ("8UC1", False),
        ("8UC3", False),
        ("mono16", False),
        ("bgr16", False),
        ("rgb8; jpeg compressed bgr8", False),
        ("png", False),
        ("", False),
    ],
)
def test_is_depth(label, depth):
    assert encodings.is_depth(label) is depth


def test_16uc1_is_depth_not_a_picture():
    # It used to be read as mono16 and anonymized with synthetic values: now it is not a picture.
    assert "16UC1" not in encodings.supported_encodings()
    with pytest.raises(encodings.EncodingError, match="unsupported"):
        encodings.to_bgr(encodings.RawImage("16UC1", 2, 2, 4, False, bytes(8)))


@pytest.mark.parametrize(("encoding", "dtype"), [("16UC1", "<u2"), ("32FC1", "<f4"), ("32FC1", ">f4")])
def test_invalidate_depth_sets_only_the_mask_invalid(encoding, dtype, camvid_frames):
    gray = cv2.cvtColor(small(camvid_frames[0]), cv2.COLOR_BGR2GRAY).astype(np.float32)
    values = (1500 + 12 * gray).astype(dtype)
    h, w = values.shape
    step = w * values.itemsize + 4
    rows = np.zeros((h, step), np.uint8)
    rows[:, : w * values.itemsize] = values.view(np.uint8).reshape(h, -1)
    rows[:, -4:] = 7  # padding
    image = encodings.RawImage(encoding, h, w, step, dtype.startswith(">"), rows.tobytes())
    mask = np.zeros((h, w), bool)
    mask[10:50, 20:90] = True
    out = encodings.invalidate_depth(image, mask)
    assert len(out.data) == len(image.data)
    changed = encodings.depth_changed_pixels(image, out)
    assert np.array_equal(changed, mask)
    got = np.frombuffer(out.data, np.uint8).reshape(h, step)[:, : w * values.itemsize].copy().view(dtype)
    invalid = np.isnan(got) if encoding == "32FC1" else got == 0
    assert invalid[mask].all() and np.array_equal(got[~mask], values[~mask])
    assert not np.frombuffer(out.data, np.uint8).reshape(h, step)[:, -4:].any()  # padding zeroed
    assert encodings.depth_is_invalid(encodings.invalidate_depth(image)) and not encodings.depth_is_invalid(out)


class _Spy:
    provider = "test"
    calls = 0

    def detect(self, frame):
        _Spy.calls += 1
        h, w = frame.shape[:2]
        from inspire_ros.types import Box, Detection

        return [Detection(Box(0, 0, w, h), "person", 0, 0.99)]


@pytest.mark.parametrize("on_error", ["blank", "drop"])
def test_image_stream_refuses_depth_frames(on_error, default_cfg):
    """The live node and the bag tool share ImageStream: a depth frame is never run through the
    colour anonymizer (it would write synthetic depth), whatever on_error says."""
    from inspire_ros.io.image_msgs import ImageStream, is_depth
    from inspire_ros.types import FrameStatus

    DROPPED = FrameStatus.DROPPED

    anonymizer = Anonymizer(default_cfg.replace(seed=0, on_error=on_error, method="fill"), detector=_Spy())
    depth = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) + 1000).tobytes()
    raw = ImageStream(anonymizer, False, lambda m, d: dataclasses.replace(m, data=d))
    comp = ImageStream(anonymizer, True, lambda m, d: dataclasses.replace(m, data=d))
    for msg, stream in (
        (Image("h", 48, 64, "16UC1", False, 128, depth), raw),
        (Image("h", 48, 32, "32FC1", False, 128, depth), raw),
        (
            CompressedImage(
                "h",
                "16UC1; compressedDepth png",
                bytes(12) + cv2.imencode(".png", np.zeros((4, 4), np.uint16))[1].tobytes(),
            ),
            comp,
        ),
    ):
        assert is_depth(msg, stream.compressed)
        result = stream.process(msg)
        assert result.status == DROPPED and result.msg is None and "depth" in result.error
    assert _Spy.calls == 0
