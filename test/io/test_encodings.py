"""sensor_msgs Image/CompressedImage payloads <-> BGR frames, on real frames."""

import dataclasses

import cv2
import numpy as np
import pytest

from inspire_ros.io import encodings
from inspire_ros.io.image_msgs import replaced_mask
from inspire_ros.pipeline import Anonymizer

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


def changed_pixels(a: encodings.RawImage, b: encodings.RawImage) -> np.ndarray:
    """HxW bool: pixels whose payload bytes differ (pixel pairs for YUV 4:2:2)."""
    layout = encodings.layout_of(a.encoding)
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
        assert (image.height, image.width, image.step, len(image.data)) == (h, w, step, step * h)
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


@pytest.mark.parametrize(
    "encoding", ["bgr8", "rgb8", "rgba8", "mono8", "mono16", "bayer_rggb8", "bayer_grbg8", "yuv422", "yuyv"]
)
def test_anonymization_changes_only_replaced_pixels(encoding, default_cfg, vtest_frames):
    anonymizer = Anonymizer(default_cfg.replace(seed=0))
    frame = vtest_frames[1]  # 768x576, several pedestrians
    image = mono16_12bit(frame) if encoding == "mono16" else encodings.encode_bgr(frame, encoding)
    decoded = encodings.to_bgr(image)
    out, instances = anonymizer.anonymize(decoded)
    assert instances, "the detector should find the pedestrians"
    replaced = replaced_mask(decoded.shape[:2], instances)
    result = encodings.from_bgr(out, image, decoded=decoded, replaced=replaced)
    assert len(result.data) == len(image.data) and result.encoding == encoding
    changed = changed_pixels(image, result)
    assert changed.any()
    allowed = replaced
    if encodings.layout_of(encoding).kind == "yuv422":  # a replaced pixel re-encodes its pair
        h, w = replaced.shape
        allowed = np.repeat(replaced.reshape(h, w // 2, 2).any(axis=2), 2, axis=1)
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
