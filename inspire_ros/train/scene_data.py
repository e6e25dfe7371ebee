"""Whole CamVid frames with their label maps at SVIA's working resolution, and the training
samples of the three SVIA blocks built from them.

CamVid as inspire_ros.datasets reads it (SegNet layout: <root>/<split>/images + labels), 8-bit
labels 0..10 and 11 unlabelled. File names are <sequence>_<frame>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..datasets import camvid_images, read_camvid
from ..svia.classes import CATEGORIES, CATEGORY_NAMES, PAPER_CATEGORIES
from ..svia.noise import laplace_noise


@dataclass
class SceneFrames:
    images: np.ndarray  # (N,H,W,3) uint8 BGR
    labels: np.ndarray  # (N,H,W) uint8 class ids, 11 unlabelled
    names: list[str]  # file stems, <sequence>_<frame>

    def __len__(self) -> int:
        return len(self.names)

    @property
    def sequences(self) -> list[str]:
        return [n.split("_")[0] for n in self.names]


def load_camvid(root: Path, split: str, size: tuple[int, int]) -> SceneFrames:
    """Frames resized to `size` (width, height): images by area, labels by nearest."""
    images, labels, names = [], [], []
    for f in camvid_images(root, split):
        image, label = read_camvid(f)
        images.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        labels.append(cv2.resize(label, size, interpolation=cv2.INTER_NEAREST))
        names.append(f.stem)
    return SceneFrames(np.stack(images), np.stack(labels), names)


def category_masks(label: np.ndarray) -> dict[str, np.ndarray]:
    """Category -> (H,W) uint8 mask for every category present in a label map."""
    out = {}
    for name, classes in CATEGORIES.items():
        m = np.isin(label, classes).astype(np.uint8)
        if m.any():
            out[name] = m
    return out


def augment(image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal flip and a random zoom (crop of 70-100 % of the frame, resized back)."""
    h, w = label.shape
    if rng.random() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    s = rng.uniform(0.7, 1.0)
    ch, cw = int(h * s), int(w * s)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    image = cv2.resize(np.ascontiguousarray(image[y : y + ch, x : x + cw]), (w, h), interpolation=cv2.INTER_LINEAR)
    label = cv2.resize(np.ascontiguousarray(label[y : y + ch, x : x + cw]), (w, h), interpolation=cv2.INTER_NEAREST)
    return image, label


def inpaint_sample(
    image: np.ndarray, label: np.ndarray, rng: np.random.Generator, max_noise: float, dilation: int = 3
) -> dict[str, np.ndarray] | None:
    """One self-supervised inpainting sample, as the pipeline builds it: Laplace noise inside
    the masks of a random set of present categories, one of them to reconstruct.

    Returns image (noisy, uint8 HxWx3), mask (HxW uint8), category (index), noise (b / 255),
    target (the original). None when the frame has no category.
    """
    masks = category_masks(label)
    if not masks:
        return None
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilation + 1, 2 * dilation + 1))
    masks = {k: cv2.dilate(v, kernel) for k, v in masks.items()}
    names = list(masks)
    # The paper's five are what a default config asks for: draw them twice as often.
    weights = np.array([2.0 if n in PAPER_CATEGORIES else 1.0 for n in names])
    chosen = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    union = masks[chosen].copy()
    for n in names:
        if n != chosen and rng.random() < 0.5:
            union |= masks[n]
    b = float(rng.uniform(0.0, max_noise))
    noisy = laplace_noise(image, union, b, rng)
    return {
        "image": noisy,
        "mask": masks[chosen],
        "category": CATEGORY_NAMES.index(chosen),
        "noise": b / 255.0,
        "target": image,
    }


def harmonize_sample(image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A composite with seams, harmonisation-dataset style: some category regions of `image`
    colour-shifted, blurred and noised, to be mapped back to `image`. Outside the regions the
    composite is the original, so the net learns to match regions to their context."""
    masks = list(category_masks(label).values())
    region = np.zeros(label.shape, np.uint8)
    for m in masks:
        if rng.random() < 0.5:
            region |= m
    if not region.any():
        region = masks[0] if masks else np.ones(label.shape, np.uint8)
    fake = cv2.GaussianBlur(image.astype(np.float32), (0, 0), float(rng.uniform(0.3, 2.0)))
    fake = fake * rng.uniform(0.7, 1.3, 3) + rng.uniform(-30, 30, 3)
    fake += rng.normal(0.0, rng.uniform(0, 8), fake.shape)
    m = region[..., None].astype(np.float32)
    composite = np.clip(fake * m + image.astype(np.float32) * (1 - m), 0, 255).astype(np.uint8)
    return {"image": composite, "mask": region, "target": image}
