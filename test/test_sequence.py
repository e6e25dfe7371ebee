"""A stream anonymized with the next frame's detection overlapping this frame's replacement
gives what the sequential stream gives, and fails closed the same way."""

import numpy as np
import pytest

from inspire_ros.pipeline import Anonymizer
from inspire_ros.sequence import Stream, overlapped

from support import read_video_frames

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


@pytest.fixture(scope="module")
def frames():
    return read_video_frames(list(range(100, 108)))


@pytest.mark.parametrize("preset", ["none", "live"])
def test_overlapped_stream_equals_sequential(default_cfg, frames, preset):
    cfg = default_cfg.replace(seed=3, preset=preset)
    items = [*frames[:3], None, *frames[3:]]  # None: a frame the decoder could not give
    sequential = Stream(Anonymizer(cfg), salt=5)
    want = [None if f is None else sequential.anonymize(f, i) for i, f in enumerate(items)]
    stream = Stream(Anonymizer(cfg), salt=5)
    got = list(overlapped(stream, items, lambda f: f))
    assert [item is f for (item, _), f in zip(got, items, strict=True)] == [True] * len(items)
    for (_, result), expected in zip(got, want, strict=True):
        if expected is None:
            assert result is None
            continue
        assert np.array_equal(result[0], expected[0])
        assert [(i.box, i.category) for i in result[1]] == [(i.box, i.category) for i in expected[1]]
        assert result[2] is None
    assert any(r[1] for _, r in got if r) and stream.receipt.to_dict() == sequential.receipt.to_dict()


def test_a_frame_that_fails_detection_is_blanked_and_the_stream_goes_on(default_cfg, frames):
    stream = Stream(Anonymizer(default_cfg.replace(seed=0, preset="none")))
    bad = frames[1][:, :, :2]  # two channels: the detector's input check refuses it
    results = [r for _, r in overlapped(stream, [frames[0], bad, frames[2]], lambda f: f)]
    assert results[1][2] and "HxWx3" in results[1][2]
    assert not results[1][0].any() and results[1][0].shape == bad.shape
    assert results[0][2] is None and results[2][2] is None and results[2][1]
