"""Shared training plumbing: data batches, checkpoints that resume, time budgets."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..config import EdgeConfig
from ..extract.edges import edge_maps
from .dataset import load


class Batches:
    """Random mini-batches with horizontal flips, as torch tensors.

    image: (N,3,S,S) BGR in [0,1]; mask, edges, valid: (N,1,S,S) {0,1}; category: (N,) 0/1.

    `min_side` keeps only instances whose box is at least that many pixels on its longer side
    (a 128 training set holds real detail, not upscaled small instances). With `augment`,
    sampled crops are also zoomed (0.85-1.15) and recoloured (brightness, gamma, channel
    gains; darker more often than brighter, as shade and night are what the model sees least),
    and with `edges` the edge maps are recomputed from the augmented crop by the inference
    code, so a darkened crop has the edges the pipeline would give it.
    """

    def __init__(
        self, path: Path, batch: int, seed: int = 0, min_side: int = 0, augment: bool = False,
        edges: EdgeConfig | None = None,
    ):  # fmt: skip
        self.data = load(path)
        self.key = f"{path}:{min_side}"  # names this set (caches of its features)
        if min_side:
            box = self.data["box"]
            keep = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) >= min_side
            n = len(keep)
            self.data = {k: v[keep] if getattr(v, "shape", ())[:1] == (n,) else v for k, v in self.data.items()}
        self.n = len(self.data["category"])
        if self.n == 0:
            raise ValueError(f"{path} holds no instances" + (f" with a side >= {min_side} px" if min_side else ""))
        self.size = int(self.data["images"].shape[1])
        self.batch = batch
        self.augment, self.edges = augment, edges
        self.rng = np.random.default_rng(seed)

    def _augment(self, image: np.ndarray, mask: np.ndarray, valid: np.ndarray) -> None:
        """In place, per instance: zoom about the centre, then colour inside the content."""
        s = image.shape[1]
        for i in range(len(image)):
            z = self.rng.uniform(0.85, 1.15)
            if abs(z - 1) > 0.02:
                m = cv2.getRotationMatrix2D((s / 2 - 0.5, s / 2 - 0.5), 0.0, z)
                image[i] = cv2.warpAffine(image[i], m, (s, s), flags=cv2.INTER_LINEAR)
                mask[i] = cv2.warpAffine(mask[i], m, (s, s), flags=cv2.INTER_NEAREST)
                valid[i] = cv2.warpAffine(valid[i].astype(np.uint8), m, (s, s), flags=cv2.INTER_NEAREST) > 0
            gain = np.exp(self.rng.uniform(-0.6, 0.25)) * self.rng.uniform(0.92, 1.08, 3)
            gamma = self.rng.uniform(0.8, 1.25)
            x = (image[i].astype(np.float32) / 255.0) ** gamma * gain
            image[i] = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8) * valid[i][..., None]

    def tensors(self, idx: np.ndarray, flip: np.ndarray | None = None, augment: bool = False) -> dict:
        d = self.data
        images, mask, edges, valid = d["images"][idx], d["masks"][idx], d["edges"][idx], d["valid"][idx]
        if flip is not None and flip.any():
            images[flip], mask[flip] = images[flip][:, :, ::-1], mask[flip][:, :, ::-1]
            edges[flip], valid[flip] = edges[flip][:, :, ::-1], valid[flip][:, :, ::-1]
        if augment:  # fancy indexing made copies: the stored data stays as built
            self._augment(images, mask, valid)
        if self.edges is not None:
            edges = edge_maps(np.ascontiguousarray(images), valid, self.edges)
        image = images.astype(np.float32) / 255.0
        f32 = np.float32
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image.transpose(0, 3, 1, 2))),
            "mask": torch.from_numpy(np.ascontiguousarray(mask[:, None].astype(f32))),
            "edges": torch.from_numpy(np.ascontiguousarray(edges[:, None].astype(f32))),
            "valid": torch.from_numpy(np.ascontiguousarray(valid[:, None].astype(f32))),
            "category": torch.from_numpy(d["category"][idx].astype(f32)),
        }

    def sample(self) -> dict[str, torch.Tensor]:
        idx = self.rng.integers(0, self.n, self.batch)
        return self.tensors(idx, self.rng.random(self.batch) < 0.5, self.augment)

    def ordered(self, batch: int = 256):
        for start in range(0, self.n, batch):
            yield self.tensors(np.arange(start, min(self.n, start + batch)))


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a crash while saving leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def prepare_out(out: Path, resume: bool, force: bool) -> dict | None:
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        if resume:
            return torch.load(ckpt, map_location="cpu", weights_only=False)
        if not force:
            raise FileExistsError(f"{out} holds a checkpoint: pass --resume to continue it or --force to start over")
    elif resume:
        raise FileNotFoundError(f"--resume: no checkpoint in {out}")
    return None


@dataclass(frozen=True)
class RunOptions:
    """How a training run goes, the same for every trainer (the CLI's common flags): stop at
    `steps` or after `minutes`, validate every `eval_every` steps, continue the checkpoint in
    the output folder (`resume`) or replace it (`force`)."""

    steps: int
    minutes: float | None = None
    batch: int = 16
    resume: bool = False
    force: bool = False
    eval_every: int = 500
    seed: int = 0
    threads: int = 2


def begin(run: RunOptions, out: Path) -> dict | None:
    """Common start of every trainer: threads, seeds, the checkpoint to resume (or None)."""
    torch.set_num_threads(run.threads)
    torch.manual_seed(run.seed)
    return prepare_out(out, run.resume, run.force)


class Budget:
    """Stops at `steps` or after `minutes` of wall time, whichever comes first."""

    def __init__(self, steps: int, minutes: float | None, done: int = 0):
        self.steps, self.done = steps, done
        self.deadline = time.time() + minutes * 60 if minutes else None

    def more(self) -> bool:
        return self.done < self.steps and (self.deadline is None or time.time() < self.deadline)
