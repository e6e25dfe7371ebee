"""Sample grid of the learned blocks on held-out CamVid test instances -> docs/.

Row per instance: original crop | mask | edges | three seeds, each composited F*M + I*(1-M)
as the patch stage does.

    .venv/bin/python -m inspire_ros.bench.sample_grid --out docs/learned_samples.png
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from .. import config as config_mod
from ..crop import crop_batch
from ..datasets import gt_frames
from ..extract import build_extractor
from ..generate import build_generator
from ..paths import default_config_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m inspire_ros.bench.sample_grid", description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(default_config_path()))
    ap.add_argument("--out", default="docs/learned_samples.png")
    ap.add_argument("--per-category", type=int, default=5)
    ap.add_argument("--tile", type=int, default=96)
    args = ap.parse_args(argv)
    cfg = config_mod.load(args.config)
    rng = np.random.default_rng(7)
    rows = {"person": [], "car": []}
    blocks = {
        c: (
            build_extractor(cfg.extractor_for(c), cfg, "extractor"),
            build_generator(cfg.generator_for(c), cfg, "generator"),
        )
        for c in rows
    }
    for frame, gt in gt_frames("camvid-test", 600, 2):
        for category in rows:
            dets = [d for d in gt if d.category == category]
            if not dets or len(rows[category]) >= args.per_category:
                continue
            extractor, generator = blocks[category]
            batch = crop_batch(frame, category, dets[:1], 64)
            feats = extractor.extract(batch)
            m = feats.masks[0].astype(bool)
            tiles = [batch.images[0], np.repeat(m[..., None] * 255, 3, -1).astype(np.uint8)]
            tiles.append(np.repeat(feats.edges[0][..., None] * 255, 3, -1).astype(np.uint8))
            for _ in range(3):
                z = rng.standard_normal((1, generator.latent_dim), dtype=np.float32)
                f = generator.generate(category, feats.masks, feats.edges, z)[0]
                tiles.append(np.where(m[..., None], f, batch.images[0]))
            t = args.tile
            rows[category].append(
                np.concatenate([cv2.resize(x, (t, t), interpolation=cv2.INTER_NEAREST) for x in tiles], 1)
            )
        if all(len(r) >= args.per_category for r in rows.values()):
            break
    grid = np.concatenate(rows["person"] + rows["car"], 0)
    cv2.imwrite(args.out, grid)
    print(f"wrote {args.out}: {len(rows['person'])} people, {len(rows['car'])} cars (CamVid test, held out)")


if __name__ == "__main__":
    main()
