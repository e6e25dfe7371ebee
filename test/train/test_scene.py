"""The SVIA blocks train, resume and export ONNX that the scene replacer loads (a few steps)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the torch extra")

from inspire_ros import config as config_mod  # noqa: E402
from inspire_ros.cli.main import main  # noqa: E402
from inspire_ros.pipeline import Anonymizer  # noqa: E402
from inspire_ros.train import scene  # noqa: E402
from inspire_ros.train.export import export  # noqa: E402
from inspire_ros.train.loop import RunOptions  # noqa: E402
from inspire_ros.train.scene_data import inpaint_sample, load_camvid  # noqa: E402

from support import CAMVID, union_mask  # noqa: E402

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

FRAMES = ["0016E5_08053", "0016E5_08079", "0016E5_08109", "0016E5_08139"]


@pytest.fixture(scope="module")
def tiny_camvid(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid")
    for split in ("train", "val"):
        for sub in ("images", "labels"):
            (root / split / sub).mkdir(parents=True)
        for name in FRAMES:
            (root / split / "images" / f"{name}.jpg").write_bytes(
                (CAMVID / "val" / "images" / f"{name}.jpg").read_bytes()
            )
            (root / split / "labels" / f"{name}.png").write_bytes(
                (CAMVID / "val" / "labels" / f"{name}.png").read_bytes()
            )
    return root


def test_inpainting_samples_hide_the_region_behind_noise(tiny_camvid):
    frames = load_camvid(tiny_camvid, "val", scene.SIZE)
    rng = np.random.default_rng(0)
    sample = None
    while sample is None or sample["noise"] * 255 < 50:
        sample = inpaint_sample(frames.images[0], frames.labels[0], rng, scene.MAX_NOISE)
    region = sample["mask"].astype(bool)
    diff = np.abs(sample["image"].astype(int) - sample["target"].astype(int))
    # Laplace(0, b) has mean absolute deviation b; clipping at 0/255 takes some of it away.
    assert diff[region].mean() > 0.3 * sample["noise"] * 255


@pytest.mark.parametrize("kind", scene.KINDS)
def test_scene_block_trains_resumes_and_exports(tiny_camvid, tmp_path, kind):
    run = tmp_path / kind
    first = scene.train(kind, tiny_camvid, run, RunOptions(steps=2, batch=2, eval_every=1), log=lambda _: None)
    assert first["steps"] == 2 and (run / "best.pt").exists() and (run / "checkpoint.pt").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        scene.train(kind, tiny_camvid, run, RunOptions(steps=3, batch=2))
    resumed = scene.train(
        kind, tiny_camvid, run, RunOptions(steps=3, batch=2, eval_every=1, resume=True), log=lambda _: None
    )
    assert [h["step"] for h in resumed["history"]] == [1, 2, 3]
    model = tmp_path / f"{kind}.onnx"
    sha = export(kind, run / "best.pt", model)
    cfg = config_mod.from_dict({"method": "svia", "seed": 0, "svia": {kind: {"model": str(model), "sha256": sha}}})
    frame = load_camvid(tiny_camvid, "val", (480, 360)).images[0]
    out, instances = Anonymizer(cfg).anonymize(frame)
    replaced = union_mask(frame, instances)
    assert out.shape == frame.shape and np.array_equal(out[~replaced], frame[~replaced])


def test_train_and_export_through_the_cli(tiny_camvid, tmp_path, capsys):
    run = tmp_path / "seg"
    args = ["train", "segmenter", "--root", str(tiny_camvid), "--out", str(run), "--steps", "1", "--batch", "2"]
    assert main(args) == 0 and "segmenter at step 1" in capsys.readouterr().out
    out = tmp_path / "seg.onnx"
    assert (
        main(["train", "export", "segmenter", "--weights", str(run / "best.pt"), "--out", str(out), "--no-manifest"])
        == 0
    )
    assert out.exists()
