"""Model inversion attack on real PETS09 crops: it undoes an invertible disguise, not a fill."""

from __future__ import annotations

import numpy as np
import pytest

from inspire_ros.datasets import crop, pets09_samples
from inspire_ros.eval import reid
from inspire_ros.eval.inversion import SIZE, psnr, resized, train_and_invert

from support import SHARED

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def person_crops():
    samples, gallery = pets09_samples(SHARED, query_step=40, query_limit=4, gallery_step=4)
    test = [crop(s.frame, g.box) for s in samples for g in s.gt]
    return gallery.crops, test


def disguise(c: np.ndarray) -> np.ndarray:
    """A colour disguise that keeps every detail: channels swapped and inverted."""
    return 255 - c[..., ::-1]


def test_inversion_undoes_an_invertible_disguise_but_not_a_fill(person_crops):
    train, test = person_crops
    assert len(train) >= 100 and len(test) >= 15
    originals = resized(test)
    disguised = [disguise(c) for c in test]
    inverted = train_and_invert([disguise(c) for c in train], train, disguised, steps=60, seed=0)
    assert inverted[0].shape == (SIZE, SIZE, 3)
    assert psnr(inverted, originals) > psnr(resized(disguised), originals) + 8
    grey = [np.full_like(c, 127) for c in test]
    from_fill = train_and_invert([np.full_like(c, 127) for c in train], train, grey, steps=60, seed=0)
    assert psnr(from_fill, originals) < psnr(inverted, originals) - 3
    # Every fill crop inverts to the same image: nothing of the person comes back.
    assert max(np.abs(from_fill[0].astype(int) - f.astype(int)).max() for f in from_fill) <= 1
    osnet = reid.OsnetFeatures(SHARED)
    gallery = osnet(test)
    assert reid.strongest_rank1(gallery, osnet([c for c in inverted])) > 2 * reid.strongest_rank1(
        gallery, osnet(from_fill)
    )
