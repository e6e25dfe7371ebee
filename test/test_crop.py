import cv2
import numpy as np
import pytest

from inspire_ros.config import CategoryConfig
from inspire_ros.crop import crop_batch, crop_geometry, crop_size_for, uncrop
from inspire_ros.types import Box, Detection


def _det(x0, y0, x1, y1):
    return Detection(Box(x0, y0, x1, y1), "person", 0, 0.9)


def test_tall_box_is_padded_symmetrically_left_and_right():
    g = crop_geometry(_det(100, 50, 110, 80), 64)  # 10 wide, 30 tall
    assert (g.height, g.width) == (64, 21)
    assert g.offset_y == 0 and g.offset_x == (64 - 21) // 2
    assert abs((64 - g.width - g.offset_x) - g.offset_x) <= 1


def test_batch_shapes_zero_padding_and_roundtrip(bus):
    dets = [_det(50, 394, 214, 898), _det(0, 0, 300, 100)]
    batch = crop_batch(bus, "person", dets, 64)
    assert batch.images.shape == (2, 64, 64, 3) and batch.images.dtype == np.uint8
    assert batch.valid.shape == (2, 64, 64)
    assert not batch.images[~batch.valid].any()  # padding is zero
    assert batch.valid[0].sum() < 64 * 64 and batch.valid[1].sum() < 64 * 64
    # Back to the box: a blurred version of the original content (64 px for a 504 px box).
    back = uncrop(batch.images[0], batch.geometry[0], cv2.INTER_LINEAR)
    region = bus[394:898, 50:214]
    assert back.shape == region.shape
    small = cv2.resize(region, (16, 48), interpolation=cv2.INTER_AREA).astype(int)
    err = np.abs(cv2.resize(back, (16, 48), interpolation=cv2.INTER_AREA).astype(int) - small).mean()
    mirrored = np.abs(cv2.resize(back[:, ::-1], (16, 48), interpolation=cv2.INTER_AREA).astype(int) - small).mean()
    assert err < 10 and err < 0.5 * mirrored


@pytest.mark.parametrize(
    "w, h, max_upscale, size",
    [
        (40, 128, 2.0, 64),  # side == crop_size * max_upscale: still crop_size
        (40, 129, 2.0, 128),  # one pixel more: large_crop_size
        (129, 40, 2.0, 128),  # the longer side counts, whichever it is
        (20, 20, 2.0, 64),
        (40, 96, 1.5, 64),
        (40, 97, 1.5, 128),
    ],
)
def test_crop_size_for_switches_above_crop_size_times_max_upscale(w, h, max_upscale, size):
    cat = CategoryConfig(crop_size=64, large_crop_size=128, max_upscale=max_upscale)
    assert crop_size_for(_det(10, 10, 10 + w, 10 + h), cat) == size


def test_crop_size_for_without_large_crop_size_is_always_crop_size():
    assert crop_size_for(_det(0, 0, 500, 900), CategoryConfig(crop_size=48)) == 48
