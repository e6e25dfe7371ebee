"""The shipped generator (generate/gan.py, models/inspire_gen_camvid.onnx trained by this project
on CamVid) on the UNet's masks of real crops."""

import numpy as np

from inspire_ros.extract import build_extractor
from inspire_ros.generate import build_generator


def test_generator_instances_on_real_masks_and_seed_diversity(default_cfg, real_batches):
    extractor = build_extractor(default_cfg.extractor, default_cfg, "extractor")
    generator = build_generator(default_cfg.generator, default_cfg, "generator")
    rng = np.random.default_rng(0)
    for batch in real_batches:
        feats = extractor.extract(batch)
        n = len(batch)
        z1 = rng.standard_normal((n, generator.latent_dim), dtype=np.float32)
        z2 = rng.standard_normal((n, generator.latent_dim), dtype=np.float32)
        a = generator.generate(batch.category, feats.masks, feats.edges, z1)
        b = generator.generate(batch.category, feats.masks, feats.edges, z1)
        c = generator.generate(batch.category, feats.masks, feats.edges, z2)
        assert a.shape == (n, 64, 64, 3) and a.dtype == np.uint8
        assert np.array_equal(a, b), "same latent must give the same instance"
        inside = feats.masks == 1
        assert a[inside].std() > 10, "instances are flat"
        # Different latents: visibly different instances (mean absolute difference in the mask).
        diff = np.abs(a.astype(int) - c.astype(int)).mean(-1)[inside]
        assert diff.mean() > 8, f"{batch.category}: the latent barely changes the instance ({diff.mean():.1f})"
