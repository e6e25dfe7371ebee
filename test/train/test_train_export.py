"""Training runs, resumes and exports ONNX that the runtime blocks load (a few steps only)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the torch extra")

from test_dataset import make_camvid_subset  # noqa: E402

from inspire_ros import Anonymizer  # noqa: E402
from inspire_ros.cli.main import main  # noqa: E402
from inspire_ros.train import gan, unet  # noqa: E402
from inspire_ros.train.dataset import build  # noqa: E402
from inspire_ros.train.export import export  # noqa: E402

from conftest import union_mask  # noqa: E402


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = make_camvid_subset(tmp_path_factory.mktemp("camvid"))
    out = tmp_path_factory.mktemp("instances")
    build("camvid", root, "val", out)
    (out / "train.npz").write_bytes((out / "val.npz").read_bytes())
    return out


def test_unet_trains_resumes_and_exports(tiny_data, tmp_path, default_cfg, vtest_frames):
    run = tmp_path / "unet"
    first = unet.train(tiny_data, run, steps=4, batch=8, eval_every=2)
    assert first["steps"] == 4 and (run / "checkpoint.pt").exists() and (run / "best.pt").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        unet.train(tiny_data, run, steps=6)
    resumed = unet.train(tiny_data, run, steps=6, batch=8, eval_every=2, resume=True)
    assert resumed["steps"] == 6 and [h["step"] for h in resumed["history"]] == [2, 4, 6]
    model = tmp_path / "unet.onnx"
    sha = export("unet", run / "best.pt", model)
    cfg = default_cfg.replace(**{"extractor.type": "unet", "extractor.model": str(model), "extractor.sha256": sha})
    out, instances = Anonymizer(cfg.replace(seed=0)).anonymize(vtest_frames[1])
    assert instances and out.shape == vtest_frames[1].shape


def test_generator_trains_and_exports_via_cli(tiny_data, tmp_path, default_cfg, vtest_frames):
    run = tmp_path / "gen"
    summary = gan.train(tiny_data, run, steps=3, batch=4, eval_every=3)
    assert summary["history"][-1]["diversity"] > 0
    model = tmp_path / "gen.onnx"
    args = ["train", "export", "generator", "--weights", str(run / "generator.pt"), "--out", str(model)]
    assert main([*args, "--no-manifest"]) == 0
    cfg = default_cfg.replace(**{"generator.type": "gan", "generator.model": str(model)})
    anon = Anonymizer(cfg.replace(seed=0))
    frame = vtest_frames[1]
    out, instances = anon.anonymize(frame)
    assert instances
    union = union_mask(frame, instances)
    assert np.array_equal(out[~union], frame[~union])
