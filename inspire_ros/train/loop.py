"""Shared training plumbing: data batches, checkpoints that resume, time budgets."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from .dataset import load


class Batches:
    """Random mini-batches with horizontal flips, as torch tensors.

    image: (N,3,S,S) BGR in [0,1]; mask, edges, valid: (N,1,S,S) {0,1}; category: (N,) 0/1.
    """

    def __init__(self, path: Path, batch: int, seed: int = 0):
        self.data = load(path)
        self.n = len(self.data["category"])
        if self.n == 0:
            raise ValueError(f"{path} holds no instances")
        self.batch = batch
        self.rng = np.random.default_rng(seed)

    def tensors(self, idx: np.ndarray, flip: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        d = self.data
        image = d["images"][idx].astype(np.float32) / 255.0
        mask, edges, valid = d["masks"][idx], d["edges"][idx], d["valid"][idx]
        if flip is not None and flip.any():
            image[flip], mask[flip] = image[flip][:, :, ::-1], mask[flip][:, :, ::-1]
            edges[flip], valid[flip] = edges[flip][:, :, ::-1], valid[flip][:, :, ::-1]
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
        return self.tensors(idx, self.rng.random(self.batch) < 0.5)

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


def start(
    data_dir: Path, out: Path, batch: int, resume: bool, force: bool, seed: int, threads: int
) -> tuple[dict | None, Batches, Batches]:
    """Common start of both trainers: threads, seeds, the checkpoint to resume, the data."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    state = prepare_out(out, resume, force)
    return state, Batches(data_dir / "train.npz", batch, seed), Batches(data_dir / "val.npz", batch, seed)


class Budget:
    """Stops at `steps` or after `minutes` of wall time, whichever comes first."""

    def __init__(self, steps: int, minutes: float | None, done: int = 0):
        self.steps, self.done = steps, done
        self.deadline = time.time() + minutes * 60 if minutes else None

    def more(self) -> bool:
        return self.done < self.steps and (self.deadline is None or time.time() < self.deadline)
