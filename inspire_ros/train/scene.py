"""Train the SVIA blocks on whole CamVid frames at the working resolution.

- segmenter: cross-entropy over CamVid's 11 classes (unlabelled ignored), Adam 1e-3 with a
  cosine decay; best validation mIoU kept.
- inpainter: self-supervised: Laplace noise inside random category masks, reconstruct one
  category's region; L1 inside the region + a gradient (edge) L1 so the fill is not only a
  flat average colour. Best validation L1 kept.
- harmonizer: colour-shifted / blurred / noised regions mapped back to the original; L1.

Each run resumes from its checkpoint (`--resume`) and stops at a step count or wall time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812
from tqdm import tqdm

from ..svia.classes import CATEGORY_NAMES, UNLABELLED, confusion, miou
from .loop import Budget, RunOptions, begin, save_checkpoint
from .models import count_parameters
from .scene_data import SceneFrames, augment, harmonize_sample, inpaint_sample, load_camvid
from .scene_models import SceneHarmonizer, SceneInpainter, SceneSegmenter

KINDS = ("segmenter", "inpainter", "harmonizer")
SIZE = (256, 192)  # working resolution (width, height) the shipped blocks are trained at
MAX_NOISE = 160.0  # Laplace scales the inpainter is trained on, uniformly from 0


def _tensor(images: np.ndarray) -> torch.Tensor:
    """(N,H,W,3) uint8 -> (N,3,H,W) float in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float() / 255.0


def _planes(masks: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(masks[:, None])).float()


def build(kind: str) -> torch.nn.Module:
    return {"segmenter": SceneSegmenter, "inpainter": SceneInpainter, "harmonizer": SceneHarmonizer}[kind]()


def batch_for(kind: str, frames: SceneFrames, idx: np.ndarray, rng: np.random.Generator, train: bool) -> dict:
    images, labels, extra = [], [], []
    for i in idx:
        image, label = frames.images[i], frames.labels[i]
        if train:
            image, label = augment(image, label, rng)
        if kind == "segmenter":
            images.append(image)
            labels.append(label)
        elif kind == "inpainter":
            s = inpaint_sample(image, label, rng, MAX_NOISE)
            if s is not None:
                extra.append(s)
        else:
            extra.append(harmonize_sample(image, label, rng))
    if kind == "segmenter":
        return {"image": _tensor(np.stack(images)), "label": torch.from_numpy(np.stack(labels)).long()}
    out = {
        "image": _tensor(np.stack([s["image"] for s in extra])),
        "mask": _planes(np.stack([s["mask"] for s in extra])),
        "target": _tensor(np.stack([s["target"] for s in extra])),
    }
    if kind == "inpainter":
        onehot = np.zeros((len(extra), len(CATEGORY_NAMES)), np.float32)
        onehot[np.arange(len(extra)), [s["category"] for s in extra]] = 1
        out["category"] = torch.from_numpy(onehot)
        out["noise"] = torch.tensor([s["noise"] for s in extra], dtype=torch.float32)
    return out


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[:, :, :, 1:] - x[:, :, :, :-1], x[:, :, 1:, :] - x[:, :, :-1, :]


def class_weights(frames: SceneFrames, balance: float = 1.0, cap: float = 10.0) -> torch.Tensor:
    """Median frequency balancing (SegNet) to the power `balance`: rare classes (pedestrians,
    signs, poles) weigh more, so the segmenter does not trade them for road and sky pixels.
    1.0 is SegNet's (high recall of small classes, buildings lose pixels to them); 0.5 is the
    compromise the shipped model is fine-tuned with; 0 is plain cross-entropy."""
    counts = np.bincount(frames.labels.ravel(), minlength=UNLABELLED + 1)[:UNLABELLED].astype(np.float64)
    freq = counts / max(1.0, counts.sum())
    weights = np.where(freq > 0, np.median(freq[freq > 0]) / np.maximum(freq, 1e-12), 1.0)
    return torch.tensor(np.minimum(weights, cap) ** balance, dtype=torch.float32)


def loss_and_output(
    kind: str, model: torch.nn.Module, b: dict, weights: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    if kind == "segmenter":
        logits = model(b["image"])
        return F.cross_entropy(logits, b["label"], weight=weights, ignore_index=UNLABELLED), logits
    if kind == "inpainter":
        out = model(b["image"], b["mask"], b["category"], b["noise"])
        m = b["mask"]
        l1 = ((out - b["target"]).abs() * m).sum() / (3 * m.sum()).clamp(min=1)
        (ox, oy), (tx, ty) = _gradients(out), _gradients(b["target"])
        grad = ((ox - tx).abs() * m[:, :, :, 1:]).mean() + ((oy - ty).abs() * m[:, :, 1:, :]).mean()
        return l1 + grad, out
    out = model(b["image"], b["mask"])
    m = b["mask"]
    inside = ((out - b["target"]).abs() * m).sum() / (3 * m.sum()).clamp(min=1)
    return inside + (out - b["target"]).abs().mean(), out


@torch.no_grad()
def evaluate(kind: str, model: torch.nn.Module, frames: SceneFrames, seed: int = 1) -> dict[str, float]:
    """segmenter: mIoU; inpainter/harmonizer: the loss on fixed samples (lower is better)."""
    model.eval()
    rng = np.random.default_rng(seed)
    conf, losses = 0, []
    for start in range(0, len(frames), 16):
        idx = np.arange(start, min(len(frames), start + 16))
        b = batch_for(kind, frames, idx, rng, train=False)
        loss, out = loss_and_output(kind, model, b)
        losses.append(loss.item())
        if kind == "segmenter":
            conf = conf + confusion(out.argmax(1).numpy(), b["label"].numpy())
    model.train()
    if kind == "segmenter":
        return miou(conf)
    return {"loss": float(np.mean(losses))}


def _score(kind: str, metrics: dict) -> float:
    return metrics["miou"] if kind == "segmenter" else -metrics["loss"]


def train(
    kind: str,
    root: Path,
    out: Path,
    run: RunOptions,
    lr: float = 1e-3,
    balance: float = 1.0,
    init: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """`balance`: the segmenter's class weighting (see `class_weights`); `init`: weights to start
    from (fine-tuning) instead of random ones."""
    state = begin(run, out)
    steps, batch, seed = run.steps, run.batch, run.seed
    train_frames, val_frames = load_camvid(root, "train", SIZE), load_camvid(root, "val", SIZE)
    model = build(kind)
    if init is not None and not state:
        model.load_state_dict(torch.load(init, map_location="cpu", weights_only=True))
    weights = class_weights(train_frames, balance) if kind == "segmenter" else None
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.05)
    rng = np.random.default_rng(seed)
    step, best, history = 0, -float("inf"), []
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, best, history = state["step"], state["best"], state["history"]
        rng.bit_generator.state = state["rng"]
    budget = Budget(steps, run.minutes, step)
    bar = tqdm(total=steps, initial=step, unit="step", desc=f"{kind} ({count_parameters(model) / 1e3:.0f}k params)")
    started = time.time()
    while budget.more():
        b = batch_for(kind, train_frames, rng.integers(0, len(train_frames), batch), rng, train=True)
        loss, _ = loss_and_output(kind, model, b, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step = budget.done = step + 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % run.eval_every == 0 or not budget.more():
            metrics = evaluate(kind, model, val_frames)
            history.append(
                {"step": step, "train_loss": round(loss.item(), 4), **{k: round(v, 4) for k, v in metrics.items()}}
            )
            if _score(kind, metrics) > best:
                best = _score(kind, metrics)
                torch.save(model.state_dict(), out / "best.pt")
            save_checkpoint(out / "checkpoint.pt", {
                "model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                "best": best, "history": history, "rng": rng.bit_generator.state,
            })  # fmt: skip
            (out / "history.json").write_text(json.dumps(history, indent=1))
            log(f"{kind} step {step}: {json.dumps(history[-1])}")
    bar.close()
    return {"steps": step, "best": best, "history": history, "seconds": time.time() - started}
