"""Train the instance generator: conditional GAN (pix2pix family).

Losses: LSGAN on the composite (generated inside the mask, real outside: what the patch
stage produces), masked L1 to the real instance (x `l1`), and a mode-seeking term (MSGAN)
that rewards different outputs for different latents, so the latent cannot be ignored:
an instance that were a fixed function of mask and edges would be linkable across frames.
Adam 2e-4 (0.5, 0.999).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .loop import Batches, Budget, save_checkpoint, start
from .models import Generator, PatchDiscriminator, count_parameters


def condition(b: dict[str, torch.Tensor]) -> torch.Tensor:
    plane = b["category"].view(-1, 1, 1, 1).expand_as(b["mask"])
    return torch.cat([b["mask"], b["edges"], plane], 1)


@torch.no_grad()
def evaluate(g: Generator, data: Batches, seed: int = 0) -> dict[str, float]:
    """Masked L1 to the real instance and latent diversity (mean |G(z1) - G(z2)| in the mask)."""
    g.eval()
    gen = torch.Generator().manual_seed(seed)
    l1 = div = area = 0.0
    for b in data.ordered():
        cond, real = condition(b), b["image"] * 2 - 1
        z1 = torch.randn(len(real), g.latent_dim, generator=gen)
        z2 = torch.randn(len(real), g.latent_dim, generator=gen)
        a, c = g(cond, z1), g(cond, z2)
        m = b["mask"]
        l1 += ((a - real).abs() * m).sum().item()
        div += ((a - c).abs() * m).sum().item()
        area += m.sum().item() * 3
    g.train()
    return {"masked_l1": l1 / area, "diversity": div / area}


def train(
    data_dir: Path,
    out: Path,
    steps: int = 20000,
    minutes: float | None = None,
    batch: int = 16,
    l1: float = 50.0,
    mode_seeking: float = 1.0,
    resume: bool = False,
    force: bool = False,
    eval_every: int = 500,
    seed: int = 0,
    threads: int = 2,
) -> dict:
    state, train_data, val_data = start(data_dir, out, batch, resume, force, seed, threads)
    g, d = Generator(), PatchDiscriminator()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    step, history = 0, []
    if state:
        g.load_state_dict(state["g"])
        d.load_state_dict(state["d"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step, history = state["step"], state["history"]
        train_data.rng.bit_generator.state = state["rng"]
    budget = Budget(steps, minutes, step)
    bar = tqdm(total=steps, initial=step, unit="step", desc=f"generator ({count_parameters(g) / 1e6:.1f}M params)")
    started = time.time()
    while budget.more():
        b = train_data.sample()
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
        g_loss.backward()
        opt_g.step()
        step = budget.done = step + 1
        bar.update()
        losses = {"d": d_loss, "adv": adv, "l1": rec, "ms": ms}
        bar.set_postfix({k: f"{v.item():.3f}" for k, v in losses.items()})
        if step % eval_every == 0 or not budget.more():
            metrics = evaluate(g, val_data)
            history.append({"step": step, "train_masked_l1": rec.item(), **metrics})
            torch.save(g.state_dict(), out / "generator.pt")
            save_checkpoint(
                out / "checkpoint.pt",
                {"g": g.state_dict(), "d": d.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                 "step": step, "history": history, "rng": train_data.rng.bit_generator.state},
            )  # fmt: skip
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
    bar.close()
    summary = {"steps": step, "seconds_this_run": round(time.time() - started, 1), "history": history}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
