"""Train the instance generator: conditional GAN (pix2pix family), at several crop sizes.

Losses: LSGAN on the composite (generated inside the mask, real outside: what the patch
stage produces), masked L1 to the real instance (x `l1`), and a mode-seeking term (MSGAN)
that rewards different outputs for different latents, so the latent cannot be ignored:
an instance that were a fixed function of mask and edges would be linkable across frames.
Adam 2e-4 (0.5, 0.999).

The generator is fully convolutional: one set of weights serves every crop size the
pipeline uses (64 for most instances, 128 for large ones). Steps alternate between the
data folders given (one per crop size), each with the batch scaled to the same pixel count.
Crops are augmented (flips, zoom, colour) and their edge maps recomputed by the inference
code. Model selection: the weights kept (`best.pt`) are those with the lowest Fréchet
distance (ImageNet MobileNetV2 features) between real and composited validation crops, not
the last step's; `summary.json` reports the held-out test split at those weights.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..config import EdgeConfig
from .loop import Batches, Budget, RunOptions, begin, save_checkpoint
from .models import Generator, PatchDiscriminator, count_parameters

# Instances cropped at a larger size must be at least half that size in the frame: above it
# the pipeline would use the smaller size, so training on upscaled small instances would
# teach the large size blur.
LARGE_MIN_SIDE_SHARE = 0.5


def condition(b: dict[str, torch.Tensor]) -> torch.Tensor:
    plane = b["category"].view(-1, 1, 1, 1).expand_as(b["mask"])
    return torch.cat([b["mask"], b["edges"], plane], 1)


def _composites(g: Generator, data: Batches, gen: torch.Generator) -> tuple[list, list, dict]:
    """Real crops and their composites (generated inside the mask) as uint8 BGR, plus masked
    L1 and latent diversity sums."""
    real_crops, fake_crops = [], []
    sums = {"l1": 0.0, "div": 0.0, "area": 0.0}
    for b in data.ordered(64):
        cond, real, m = condition(b), b["image"] * 2 - 1, b["mask"]
        z1 = torch.randn(len(real), g.latent_dim, generator=gen)
        z2 = torch.randn(len(real), g.latent_dim, generator=gen)
        a, c = g(cond, z1), g(cond, z2)
        sums["l1"] += ((a - real).abs() * m).sum().item()
        sums["div"] += ((a - c).abs() * m).sum().item()
        sums["area"] += m.sum().item() * 3
        comp = a * m + real * (1 - m)
        to_u8 = lambda t: ((t.permute(0, 2, 3, 1).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)  # noqa: E731
        real_crops += list(to_u8(real))
        fake_crops += list(to_u8(comp))
    return real_crops, fake_crops, sums


class Judge:
    """MobileNetV2 features (ImageNet; the Fréchet distance `inspire eval` reports); None when
    its weights are not available (then masked L1 selects). Real crops' features are cached."""

    def __init__(self, threads: int):
        try:
            from ..eval.reid import MobileNetV2Features

            self.features = MobileNetV2Features(threads=threads)
        except Exception as e:  # noqa: BLE001 - selection falls back to masked L1, said in the summary
            print(f"generator training: no MobileNetV2 features ({e}); model selection by masked L1")
            self.features = None
        self.cache: dict[str, np.ndarray] = {}

    def real(self, key: str, crops: list) -> np.ndarray:
        if key not in self.cache:
            self.cache[key] = self.features(crops)
        return self.cache[key]


@torch.no_grad()
def evaluate(g: Generator, sets: list[Batches], judge: Judge | None = None, seed: int = 0) -> dict[str, float]:
    """Masked L1 to the real instance, latent diversity (mean |G(z1) - G(z2)| in the mask) and,
    with a judge, the Fréchet distance of all sets' composites together and per crop size."""
    from ..eval.quality import frechet_distance

    g.eval()
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    totals = {"l1": 0.0, "div": 0.0, "area": 0.0}
    reals, fakes = [], []
    for data in sets:
        real, fake, sums = _composites(g, data, gen)
        for k in totals:
            totals[k] += sums[k]
        if judge is not None and judge.features is not None:
            reals.append(judge.real(data.key, real))
            fakes.append(judge.features(fake))
            if len(sets) > 1:
                out[f"frechet_{data.size}"] = round(frechet_distance(reals[-1], fakes[-1]), 2)
    out["masked_l1"] = totals["l1"] / max(totals["area"], 1)
    out["diversity"] = totals["div"] / max(totals["area"], 1)
    if reals:
        out["frechet"] = round(frechet_distance(np.concatenate(reals), np.concatenate(fakes)), 2)
    g.train()
    return out


def _sets(data_dirs: list[Path], split: str, batch: int, seed: int, augment: bool, edges: EdgeConfig | None):
    base = None
    out = []
    for d in data_dirs:
        probe = Batches(d / f"{split}.npz", batch, seed)
        base = base or probe.size
        scale = (base / probe.size) ** 2
        min_side = int(probe.size * LARGE_MIN_SIDE_SHARE) if probe.size > base else 0
        out.append(Batches(d / f"{split}.npz", max(2, round(batch * scale)), seed, min_side, augment, edges))
    return out


DEFAULT_RUN = RunOptions(steps=20000, batch=16, eval_every=500)


def train(
    data_dirs: list[Path],
    out: Path,
    run: RunOptions = DEFAULT_RUN,
    l1: float = 50.0,
    mode_seeking: float = 1.0,
    feature_matching: float = 0.0,
    widths: tuple[int, ...] = Generator.WIDTHS,
    augment: bool = True,
    edges: EdgeConfig | None = None,
    init: Path | None = None,
) -> dict:
    """`data_dirs`: one folder per crop size (smallest first), each with train/val(/test).npz
    from `inspire train dataset --size S`."""
    data_dirs = [Path(d) for d in data_dirs]
    state = begin(run, out)
    batch, seed = run.batch, run.seed
    edges = edges or EdgeConfig()
    train_sets = _sets(data_dirs, "train", batch, seed, augment, edges)
    val_sets = _sets(data_dirs, "val", batch, seed, False, edges)
    judge = Judge(run.threads)
    g, d = Generator(widths=tuple(widths)), PatchDiscriminator()
    (out / "arch.json").write_text(json.dumps({"widths": list(widths), "latent_dim": g.latent_dim}))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    step, history, best = 0, [], float("inf")
    if init is not None and not state:
        # Fine-tuning (e.g. a lower `l1` for sharper texture): the generator's weights, and the
        # discriminator of the run they come from when its checkpoint is beside them.
        g.load_state_dict(torch.load(init, map_location="cpu", weights_only=True))
        ckpt = Path(init).parent / "checkpoint.pt"
        if ckpt.exists():
            d.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=False)["d"])
    if state:
        g.load_state_dict(state["g"])
        d.load_state_dict(state["d"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step, history, best = state["step"], state["history"], state.get("best", float("inf"))
        for s, rng_state in zip(train_sets, state["rng"], strict=True):
            s.rng.bit_generator.state = rng_state
    budget = Budget(run.steps, run.minutes, step)
    bar = tqdm(total=run.steps, initial=step, unit="step", desc=f"generator ({count_parameters(g) / 1e6:.2f}M params)")
    started = time.time()
    while budget.more():
        b = train_sets[step % len(train_sets)].sample()
        cond, real, m = condition(b), b["image"] * 2 - 1, b["mask"]
        n = len(real)
        z = torch.randn(2 * n, g.latent_dim)
        fake = g(torch.cat([cond, cond]), z)
        composite = fake * torch.cat([m, m]) + torch.cat([real, real]) * (1 - torch.cat([m, m]))
        # Discriminator: real composites vs generated ones (one latent's worth).
        opt_d.zero_grad()
        d_loss = ((d(cond, real) - 1) ** 2).mean() + (d(cond, composite[:n].detach()) ** 2).mean()
        d_loss.backward()
        opt_d.step()
        # Generator.
        opt_g.zero_grad()
        adv = ((d(torch.cat([cond, cond]), composite) - 1) ** 2).mean()
        mm = torch.cat([m, m])
        rec = ((fake - torch.cat([real, real])).abs() * mm).sum() / (mm.sum() * 3).clamp(min=1)
        spread = ((fake[:n] - fake[n:]).abs() * m).sum((1, 2, 3)) / (m.sum((1, 2, 3)) * 3).clamp(min=1)
        ms = 1.0 / (spread / (z[:n] - z[n:]).abs().mean(1) + 1e-5).mean()
        g_loss = adv + l1 * rec + mode_seeking * ms
        if feature_matching:
            # pix2pixHD: the composite's discriminator features match the real crop's, a softer
            # target than the pixel L1 (which pulls towards the blurry average instance).
            with torch.no_grad():
                want = d.features(cond, real)
            got = d.features(cond, composite[:n])
            fm = sum((a - b).abs().mean() for a, b in zip(got, want, strict=True)) / len(want)
            g_loss = g_loss + feature_matching * fm
        g_loss.backward()
        opt_g.step()
        step = budget.done = step + 1
        bar.update()
        losses = {"d": d_loss, "adv": adv, "l1": rec, "ms": ms}
        bar.set_postfix({k: f"{v.item():.3f}" for k, v in losses.items()})
        if step % run.eval_every == 0 or not budget.more():
            metrics = evaluate(g, val_sets, judge)
            history.append({"step": step, "train_masked_l1": rec.item(), **metrics})
            score = metrics.get("frechet", metrics["masked_l1"])
            if score < best:
                best = score
                torch.save(g.state_dict(), out / "best.pt")
            torch.save(g.state_dict(), out / "generator.pt")
            save_checkpoint(
                out / "checkpoint.pt",
                {"g": g.state_dict(), "d": d.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                 "step": step, "history": history, "best": best,
                 "rng": [s.rng.bit_generator.state for s in train_sets]},
            )  # fmt: skip
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    bar.close()
    summary = {"steps": step, "seconds_this_run": round(time.time() - started, 1), "selected_by": "frechet"
               if judge.features is not None else "masked_l1", "best_validation": best, "history": history}  # fmt: skip
    tests = [d for d in data_dirs if (d / "test.npz").exists()]
    if len(tests) == len(data_dirs) and (out / "best.pt").exists():
        g.load_state_dict(torch.load(out / "best.pt", map_location="cpu", weights_only=True))
        summary["test_at_best"] = evaluate(g, _sets(data_dirs, "test", batch, seed, False, edges), judge)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
