"""Train the mask UNet: BCE + Dice inside the crop's content, Adam 2e-4 (0.9, 0.999)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch.nn import functional as F  # noqa: N812
from tqdm import tqdm

from .loop import Batches, Budget, RunOptions, begin, save_checkpoint
from .models import MaskUNet, count_parameters


def loss_fn(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * valid).sum() / valid.sum()
    p = torch.sigmoid(logits) * valid
    dice = 1 - (2 * (p * target).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


@torch.no_grad()
def evaluate(model: MaskUNet, data: Batches) -> dict[str, float]:
    """Mean IoU and coverage per category of the binarized masks."""
    model.eval()
    stats: dict[int, list] = {0: [], 1: []}
    for b in data.ordered():
        pred = (model(b["image"], b["category"]) > 0).float() * b["valid"]
        inter = (pred * b["mask"]).sum((1, 2, 3))
        union = ((pred + b["mask"]) > 0).float().sum((1, 2, 3))
        cover = inter / b["mask"].sum((1, 2, 3)).clamp(min=1)
        for c, i, u, cv in zip(b["category"].tolist(), inter, union, cover, strict=True):
            stats[int(c)].append(((i / u.clamp(min=1)).item(), cv.item()))
    model.train()
    out = {}
    for c, name in ((0, "person"), (1, "car")):
        if stats[c]:
            out[f"{name}_iou"] = sum(s[0] for s in stats[c]) / len(stats[c])
            out[f"{name}_coverage"] = sum(s[1] for s in stats[c]) / len(stats[c])
    return out


DEFAULT_RUN = RunOptions(steps=3000, batch=32, eval_every=250)


def train(
    data_dir: Path,
    out: Path,
    run: RunOptions = DEFAULT_RUN,
    widths: tuple[int, ...] = tuple(MaskUNet.ARCH["widths"]),
    stem: int = MaskUNet.ARCH["stem"],
) -> dict:
    state = begin(run, out)
    train_data = Batches(data_dir / "train.npz", run.batch, run.seed)
    val_data = Batches(data_dir / "val.npz", run.batch, run.seed)
    model = MaskUNet(widths, stem)
    (out / "arch.json").write_text(json.dumps({"widths": list(widths), "stem": stem}))
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999))
    step, best, history = 0, -1.0, []
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, best, history = state["step"], state["best"], state["history"]
        train_data.rng.bit_generator.state = state["rng"]
    budget = Budget(run.steps, run.minutes, step)
    bar = tqdm(total=run.steps, initial=step, unit="step", desc=f"unet ({count_parameters(model) / 1e3:.0f}k params)")
    started = time.time()
    while budget.more():
        b = train_data.sample()
        loss = loss_fn(model(b["image"], b["category"]), b["mask"], b["valid"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step = budget.done = step + 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % run.eval_every == 0 or not budget.more():
            metrics = evaluate(model, val_data)
            score = sum(v for k, v in metrics.items() if k.endswith("_iou"))
            history.append({"step": step, "loss": loss.item(), **metrics})
            if score > best:
                best = score
                torch.save(model.state_dict(), out / "best.pt")
            save_checkpoint(
                out / "checkpoint.pt",
                {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                 "history": history, "rng": train_data.rng.bit_generator.state},
            )  # fmt: skip
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    bar.close()
    summary = {"steps": step, "seconds_this_run": round(time.time() - started, 1), "best_val_iou_sum": best,
               "history": history}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
