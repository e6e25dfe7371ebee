"""Training runs, resumes and exports ONNX that the runtime blocks load (a few steps only)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the torch extra")

from inspire_ros import Anonymizer  # noqa: E402
from inspire_ros.cli.main import main  # noqa: E402
from inspire_ros.train import gan, unet  # noqa: E402
from inspire_ros.train.dataset import build  # noqa: E402
from inspire_ros.train.export import export  # noqa: E402
from inspire_ros.train.loop import RunOptions  # noqa: E402

from support import make_camvid_subset, union_mask  # noqa: E402

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Instances of two CamVid val frames at 64 and at 128 (train = val = test: a smoke run)."""
    root = make_camvid_subset(tmp_path_factory.mktemp("camvid"))
    out = tmp_path_factory.mktemp("instances")
    for size in (64, 128):
        folder = out / str(size)
        build("camvid", root, "val", folder, size=size)
        for split in ("train", "test"):
            (folder / f"{split}.npz").write_bytes((folder / "val.npz").read_bytes())
    return out


def test_unet_trains_resumes_and_exports(tiny_data, tmp_path, default_cfg, vtest_frames):
    run = tmp_path / "unet"
    first = unet.train(tiny_data / "64", run, RunOptions(steps=4, batch=8, eval_every=2))
    assert first["steps"] == 4 and (run / "checkpoint.pt").exists() and (run / "best.pt").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        unet.train(tiny_data / "64", run, RunOptions(steps=6))
    resumed = unet.train(tiny_data / "64", run, RunOptions(steps=6, batch=8, eval_every=2, resume=True))
    assert resumed["steps"] == 6 and [h["step"] for h in resumed["history"]] == [2, 4, 6]
    model = tmp_path / "unet.onnx"
    sha = export("unet", run / "best.pt", model)
    cfg = default_cfg.replace(**{"extractor.type": "unet", "extractor.model": str(model), "extractor.sha256": sha})
    out, instances = Anonymizer(cfg.replace(seed=0)).anonymize(vtest_frames[1])
    assert instances and out.shape == vtest_frames[1].shape


def test_generator_trains_at_two_sizes_and_exports_via_cli(tiny_data, tmp_path, default_cfg, vtest_frames):
    run = tmp_path / "gen"
    summary = gan.train(
        [tiny_data / "64", tiny_data / "128"],
        run,
        RunOptions(steps=4, batch=4, eval_every=2),
        widths=(8, 16, 32, 32, 32),
    )
    last = summary["history"][-1]
    assert last["diversity"] > 0
    # Selected on validation by the Fréchet distance, reported per crop size, and on the test split.
    assert summary["selected_by"] == "frechet" and {"frechet", "frechet_64", "frechet_128"} <= set(last)
    assert summary["best_validation"] == min(h["frechet"] for h in summary["history"])
    assert "frechet" in summary["test_at_best"]
    model = tmp_path / "gen.onnx"
    args = ["train", "export", "generator", "--weights", str(run / "best.pt"), "--out", str(model)]
    assert main([*args, "--no-manifest"]) == 0
    cfg = default_cfg.replace(**{"generator.type": "gan", "generator.model": str(model)})
    frame = vtest_frames[1]
    # One exported model serves both crop sizes: people taller than 64 px here take the 128 crop.
    for large in (None, 128):
        sized = {f"categories.{c}": {"crop_size": 64, "large_crop_size": large, "max_upscale": 1.0}
                 for c in cfg.categories}  # fmt: skip
        out, instances = Anonymizer(cfg.replace(seed=0, **sized)).anonymize(frame)
        assert instances
        union = union_mask(frame, instances)
        assert np.array_equal(out[~union], frame[~union])
        assert not np.array_equal(out[union], frame[union])


def test_augmented_batches_keep_padding_black_and_recompute_edges(tiny_data):
    from inspire_ros.config import EdgeConfig
    from inspire_ros.extract import edge_maps
    from inspire_ros.train.loop import Batches

    plain = Batches(tiny_data / "128" / "train.npz", 16, seed=1)
    large = Batches(tiny_data / "128" / "train.npz", 16, seed=1, min_side=64, augment=True, edges=EdgeConfig())
    box = plain.data["box"]
    assert 0 < large.n == int((np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) >= 64).sum()) < plain.n
    b = large.sample()
    image = (b["image"].numpy().transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
    valid = b["valid"].numpy()[:, 0] > 0
    assert not image[~valid].any()
    assert np.array_equal(b["edges"].numpy()[:, 0], edge_maps(image, valid, EdgeConfig()))
    # Same seed, same instances and flips drawn first: only zoom and colour differ.
    same = Batches(tiny_data / "128" / "train.npz", 16, seed=1, min_side=64).sample()
    assert not np.array_equal(b["image"].numpy(), same["image"].numpy())
