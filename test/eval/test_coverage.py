"""`inspire coverage`: leak per preset on sequences processed as the product processes them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inspire_ros import config as config_mod
from inspire_ros.cli.main import EXIT_OK, EXIT_USAGE, main
from inspire_ros.datasets import camvid_instances, pets09_gt
from inspire_ros.eval.coverage import BUCKETS, LeakTally, bucket_of
from inspire_ros.paths import default_config_path
from inspire_ros.pipeline import Anonymizer
from inspire_ros.sequence import Detected, Stream
from inspire_ros.track.receipt import SOURCES
from inspire_ros.types import Box, Detection, Instance

from support import CAMVID, SHARED, read_video_frames

PETS_FRAMES = 30
PRESETS = ["none", "thorough"]
STATS = {"leak_rate", "instances", "leaked", "miss_rate", "missed", "mean_unreplaced"}


@pytest.fixture(scope="module")
def run(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("coverage")
    out = root / "coverage.json"
    argv = ["coverage", "--presets", *PRESETS, "--pets-frames", str(PETS_FRAMES), "--camvid-frames", "3"]
    rc = main([*argv, "--reid", "--utility", "--seed", "1", "--json", str(out), "--quiet"])
    return rc, root, json.loads(out.read_text())


def _check_stats(stats: dict) -> None:
    assert set(stats) >= STATS
    if stats["instances"]:
        assert 0.0 <= stats["leak_rate"] <= 1.0 and 0.0 <= stats["miss_rate"] <= stats["leak_rate"]
        assert stats["leaked"] == round(stats["leak_rate"] * stats["instances"])
        assert 0.0 <= stats["mean_unreplaced"] <= 1.0
    else:
        assert stats["leak_rate"] is None and stats["leaked"] == 0


def _check_leak(leak: dict, categories: set[str]) -> None:
    _check_stats(leak)
    assert set(leak["by_size"]) == set(BUCKETS) and set(leak["by_category"]) == categories
    assert sum(leak["by_size"][b]["instances"] for b in BUCKETS) == leak["instances"]
    for c in leak["by_category"].values():
        _check_stats(c)
        for b in BUCKETS:
            _check_stats(c["by_size"][b])
        assert sum(c["by_size"][b]["instances"] for b in BUCKETS) == c["instances"]


@pytest.mark.usefixtures("shared")
def test_report_schema(run):
    rc, root, report = run
    assert rc == EXIT_OK
    assert [p.name for p in root.iterdir()] == ["coverage.json"]  # written atomically: no temporary left
    assert report["schema"] == "inspire_ros.coverage/1" and report["seed"] == 1
    assert report["leak_threshold"] == 0.2
    assert report["buckets"] == {"small": [0, 64], "medium": [64, 128], "large": [128, None]}
    assert list(report["presets"]) == PRESETS
    # PETS09: the annotated frames among 0..29 (MOT frames 1, 6, ..., 26), only boxes to consider.
    gt = {f - 1: g for f, g in pets09_gt(SHARED).items() if f - 1 < PETS_FRAMES}
    pets = report["data"]["pets09"]
    assert pets["frames"] == PETS_FRAMES and pets["annotated_frames"] == len(gt) == 6
    assert pets["gt_instances"]["person"]["all"] == sum(len(v) for v in gt.values())
    camvid = report["data"]["camvid"]
    assert set(camvid["sequences"]) == {"camvid/val/0016E5", "camvid/test/0001TP"} and camvid["frames"] == 6
    for name, r in report["presets"].items():
        assert r["config"]["lookahead"] == (name == "thorough") and r["config"]["tracking"] == (name == "thorough")
        assert set(r["datasets"]) == {"pets09", "camvid"}
        p, c = r["datasets"]["pets09"], r["datasets"]["camvid"]
        _check_leak(p["leak"], {"person"})
        _check_leak(c["leak"], {"person", "car"})
        _check_leak(c["box_leak"], {"person", "car"})
        # Every preset is scored on the same ground truth.
        assert p["leak"]["instances"] == pets["gt_instances"]["person"]["all"]
        assert {k: v["instances"] for k, v in c["leak"]["by_category"].items()} == {
            k: v["all"] for k, v in camvid["gt_instances"].items()
        }
        # Box cover is never worse than the mask the extractor kept.
        assert c["box_leak"]["leak_rate"] <= c["leak"]["leak_rate"]
        assert p["frames_failed"] == 0 and c["frames_failed"] == 0
        t = p["timing"]
        assert t["frames"] == PETS_FRAMES and t["fps"] > 0 and t["detect_fps"] >= t["fps"] > t["fps_with_decode"]
        assert r["fps"] == t["fps"] and r["fps_ratio_to_detector_none"] > 0
        receipt = p["receipt"]
        assert receipt["frames"] == PETS_FRAMES
        assert all(set(v) <= set(SOURCES) for v in receipt["instances"].values())
        assert 0.0 <= p["reid"]["thwarting_rate"] <= 1.0 and p["reid"]["queries"] > 0
        for d in (p, c):
            assert 0.0 <= d["utility"]["map50"] <= 1.0 and 0.0 <= d["utility"]["count_accuracy"] <= 1.0
    # What each preset's detector runs per 768x576 PETS09 frame: passes (tiles + full frame) and network input.
    for p in PRESETS:
        geometry = report["presets"][p]["config"]["detector"]["geometry"]["pets09"]
        assert geometry["frame_hw"] == [576, 768] and geometry["passes"] >= 1
        assert len(geometry["input_hw"]) == 2 and all(v % 32 == 0 for v in geometry["input_hw"])
    none, thorough = (report["presets"][p]["datasets"]["pets09"]["receipt"] for p in PRESETS)
    assert set(none["instances"]["person"]) == {"detected"} and none["tracks"] == 0
    assert "extended" in thorough["instances"]["person"] and thorough["tracks"] > 0
    ref = report["reference"]
    assert ref["detector_fps_none"] == report["presets"]["none"]["datasets"]["pets09"]["timing"]["detect_fps"]
    assert (
        ref["reid_pets09_unanonymized"]["queries"] == report["presets"]["none"]["datasets"]["pets09"]["reid"]["queries"]
    )


@pytest.mark.usefixtures("shared")
def test_thorough_leaks_no_more_than_none_on_the_same_frames(run):
    _, _, report = run
    none, thorough = (report["presets"][p]["datasets"]["pets09"]["leak"] for p in PRESETS)
    assert none["instances"] == thorough["instances"] > 0
    assert thorough["leak_rate"] <= none["leak_rate"]
    assert thorough["miss_rate"] <= none["miss_rate"]
    assert thorough["mean_unreplaced"] <= none["mean_unreplaced"]


@pytest.mark.usefixtures("shared")
def test_a_person_covered_by_a_filled_box_is_not_leaked():
    """Look-ahead fills frame 1 between two detections: the instance it replaces there is a
    real pipeline Instance of source `filled`, and it covers the ground-truth person."""
    frames = read_video_frames([0, 1, 2])
    person = pets09_gt(SHARED)[1][0]  # MOT frame 1 = index 0; two frames later it has moved a pixel or two
    cfg = config_mod.load(default_config_path(), "thorough").replace(seed=0)
    anonymizer = Anonymizer(cfg)
    found = Detection(person.box, "person", 0, 0.9)
    detected = Detected([[found], [], [found]], [f.shape[:2] for f in frames], [None] * 3)
    stream = Stream(anonymizer, detected, salt=7)
    out, instances, error = stream.anonymize(frames[1], 1, rng=np.random.default_rng(0))
    assert error is None
    filled = [i for i in instances if i.source == "filled"]
    assert len(filled) == 1 and isinstance(filled[0], Instance)
    b, g = filled[0].box, person.box
    assert b.x0 <= g.x0 and b.y0 <= g.y0 and b.x1 >= g.x1 and b.y1 >= g.y1
    tally = LeakTally()
    assert tally.add_frame(frames[1].shape, [person], filled) == [0.0]
    # The same person with nothing replaced is leaked and missed.
    assert tally.add_frame(frames[1].shape, [person], []) == [1.0]
    s = tally.summary(("person",))
    bucket = bucket_of(person.box.height)
    assert s["instances"] == 2 and s["leaked"] == 1 and s["missed"] == 1 and s["leak_rate"] == 0.5
    assert s["by_size"][bucket]["instances"] == 2
    assert all(s["by_size"][b]["instances"] == 0 for b in BUCKETS if b != bucket)
    assert stream.receipt.to_dict()["instances"]["person"]["filled"] == 1


@pytest.mark.usefixtures("shared")
def test_masked_instance_covered_by_a_filled_box_is_not_leaked():
    """CamVid ground truth is a pixel mask: a filled instance whose replaced mask covers it does not leak,
    one that kept only the left half of the box does."""
    import cv2

    label = cv2.imread(str(CAMVID / "val" / "labels" / "0016E5_08053.png"), cv2.IMREAD_GRAYSCALE)
    gt = max(camvid_instances(label, 50), key=lambda g: g.box.area)
    g = gt.box
    grown = Box(max(0, g.x0 - 3), max(0, g.y0 - 3), min(label.shape[1], g.x1 + 3), min(label.shape[0], g.y1 + 3))
    full = np.ones((grown.height, grown.width), bool)
    half = full.copy()
    half[:, grown.width // 2 :] = False
    covered = Instance(gt.category, grown, 0.5, int(full.sum()), full, source="filled", track_id=3)
    partial = Instance(gt.category, grown, 0.5, int(half.sum()), half, source="filled", track_id=3)
    tally = LeakTally()
    assert tally.add_frame(label.shape + (3,), [gt], [covered]) == [0.0]
    (fraction,) = tally.add_frame(label.shape + (3,), [gt], [partial])
    assert fraction > 0.2
    s = tally.summary()
    assert s["by_category"][gt.category]["leaked"] == 1 and s["by_category"][gt.category]["instances"] == 2


def test_buckets_follow_box_height():
    heights = (0, 63, 64, 127, 128, 500)
    assert [bucket_of(h) for h in heights] == ["small", "small", "medium", "medium", "large", "large"]


@pytest.mark.usefixtures("shared")
def test_missing_data_and_bad_arguments_are_usage_errors(tmp_path, capsys):
    assert main(["coverage", "--pets-frames", "0", "--quiet"]) == EXIT_USAGE
    assert "--pets-frames" in capsys.readouterr().err
    assert main(["coverage", "--pets-frames", "796", "--quiet"]) == EXIT_USAGE
    assert "[1, 795]" in capsys.readouterr().err
    rc = main(["coverage", "--shared", str(tmp_path), "--json", str(tmp_path / "c.json"), "--quiet"])
    assert rc == EXIT_USAGE and not (tmp_path / "c.json").exists()
    assert "PETS09 video not found" in capsys.readouterr().err
