"""`inspire eval scene`: the place attack's arithmetic, the sequence classifier, the baselines
inside SVIA's masks, and the command end to end on a few real CamVid frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inspire_ros.cli.main import EXIT_OK, EXIT_USAGE, main
from inspire_ros.config import BaselinesConfig
from inspire_ros.eval import reid
from inspire_ros.eval.scene import (
    QUERY_SPLITS,
    SequenceClassifier,
    frame_number,
    load_split,
    majority_chance,
    obfuscate_masks,
    place_attack,
    sequence_positions,
)
from inspire_ros.svia.classes import CATEGORIES

from support import SHARED

pytest.importorskip("torch")

HEADLINE = {
    "method",
    "place_top1_test",
    "place_top1_val",
    "place_top1_mean",
    "place_ratio",
    "place_chance",
    "sequence_accuracy",
    "frechet_mnv2",
    "kernel_mnv2",
    "persim",
    "miou",
    "miou_ratio",
    "map50",
    "map50_ratio",
    "seconds_per_frame",
}


@pytest.fixture(scope="module")
def mnv2():
    return reid.MobileNetV2Features()


@pytest.fixture(scope="module")
def test_block(shared):
    return load_split(SHARED, "test", 12, "block")  # 12 consecutive frames, ~1 s apart


def test_frame_names_give_numbers_and_positions_per_sequence():
    assert frame_number("0001TP_008550") == 8550 and frame_number("0006R0_f02220") == 2220
    names = ["0016E5_08010", "0001TP_008580", "0016E5_07999", "0001TP_008550", "0016E5_08001"]
    assert sequence_positions(names).tolist() == [2, 1, 0, 0, 1]


def test_place_chance_is_the_random_pick_under_the_exclusion_rule():
    # 5 consecutive frames, +-2: the gallery rows other than the query's own are all right
    # except those 3 or 4 apart -> per query 2/4, 3/4, 4/4, 3/4, 2/4.
    feats = np.eye(5)
    r = place_attack(feats, np.arange(5), feats, ["a"] * 5, np.arange(5), window=2)
    assert r["chance"] == pytest.approx(np.mean([2 / 4, 3 / 4, 1, 3 / 4, 2 / 4]))
    # A second sequence in the gallery is never right, whatever its positions.
    seqs = ["a"] * 5 + ["b"] * 5
    g = np.eye(10)
    r = place_attack(g[:5], np.arange(5), g, seqs, np.r_[np.arange(5), np.arange(5)], window=2)
    assert r["chance"] == pytest.approx(np.mean([2 / 9, 3 / 9, 4 / 9, 3 / 9, 2 / 9]))
    # Queries that equal a far gallery row: always wrong; the own row is never picked.
    query = g[[4, 0]]
    r = place_attack(query, [0, 4], g[:5], ["a"] * 5, np.arange(5), window=2)
    assert r["top1"] == 0.0
    r = place_attack(g[:5], np.arange(5), g[:5] + 0.01, ["a"] * 5, np.arange(5), window=2)
    assert r["gallery"] == 5 and r["queries"] == 5


def test_originals_find_their_place_and_grey_frames_score_near_chance(mnv2, test_block):
    orig = mnv2(test_block.images)
    seqs, pos = test_block.sequences, test_block.positions
    own = np.arange(len(test_block))
    original = place_attack(orig, own, orig, seqs, pos)
    assert original["top1"] >= 0.8 > original["chance"]
    grey = mnv2([np.full_like(f, 127) for f in test_block.images])
    blank = place_attack(grey, own, orig, seqs, pos)
    assert blank["chance"] == original["chance"]
    assert blank["top1"] <= blank["chance"] + 0.15


@pytest.mark.usefixtures("shared")
def test_sequence_classifier_knows_the_drives_of_original_frames(mnv2):
    train = load_split(SHARED, "train", 24, "spread")
    assert set(train.sequences) == {"0001TP", "0006R0", "0016E5"}
    held = [load_split(SHARED, s, 4, "spread") for s in QUERY_SPLITS]
    images = [im for h in held for im in h.images]
    truth = [q for h in held for q in h.sequences]
    feats = mnv2(train.images)
    clf = SequenceClassifier().fit(feats, train.sequences)
    assert clf.predict(feats) == train.sequences  # separable on its own data
    accuracy = np.mean(np.asarray(clf.predict(mnv2(images))) == np.asarray(truth))
    chance = majority_chance(train.sequences, truth)
    assert chance == 0.5  # train's majority is 0016E5 (val); test is 0001TP
    assert accuracy >= 0.75


@pytest.mark.usefixtures("shared")
@pytest.mark.parametrize("method", ["blur", "pixelate", "fill"])
def test_baselines_change_only_pixels_inside_the_masks(method):
    split = load_split(SHARED, "val", 1, "block")
    frame, label = split.images[0], split.labels[0]
    masks = {c: np.isin(label, CATEGORIES[c]) for c in ("road", "building", "vehicle")}
    masks = {c: m for c, m in masks.items() if m.any()}
    assert len(masks) == 3
    union = np.logical_or.reduce(list(masks.values()))
    cfg = BaselinesConfig()
    out = obfuscate_masks(frame, masks, method, cfg)
    changed = (out != frame).any(2)
    assert not changed[~union].any()
    assert changed[union].mean() > 0.5
    if method == "fill":
        assert (out[union] == np.array(cfg.fill.color, np.uint8)).all()


@pytest.mark.usefixtures("shared")
def test_cli_writes_report_summary_and_grid(tmp_path):
    out = tmp_path / "scene"
    args = ["eval", "scene", "--out", str(out), "--frames", "3", "--train-frames", "9", "--seed", "1", "--quiet"]
    rc = main([*args, "--methods", "svia", "fill"])
    assert rc == EXIT_OK
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "inspire_ros.eval_scene/1" and report["seed"] == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(report["files"])
    assert (out / "examples_grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(report["methods"]) == ["none", "svia", "fill"]
    assert report["sizes"]["frames"] == {"test": 3, "val": 3}
    assert all(set(r) == HEADLINE for r in report["headline"])
    none = report["methods"]["none"]
    assert none["place"]["mean"]["ratio"] == 1.0 and none["persim"] == pytest.approx(1.0, abs=1e-4)
    assert none["quality"]["frechet_mnv2"] == 0.0 and none["segmentation"]["miou_ratio"] == 1.0
    for name in ("svia", "fill"):
        m = report["methods"][name]
        assert m["seconds_per_frame"] > 0
        assert 0 <= m["place"]["test"]["top1"] <= 1 and m["place"]["test"]["chance"] == none["place"]["test"]["chance"]
    assert {t["key"] for t in report["targets"] if t["method"] == "svia"} == {
        "place_ratio",
        "miou_ratio",
        "seconds_per_frame",
    }
    assert set(report["segmenter_originals"]["test"]) >= {"miou", "pixel_acc"}
    summary = (out / "summary.md").read_text()
    assert "## Targets" in summary and "| svia | place top-1" in summary
    assert "| method | place top-1 test |" in summary and "| fill |" in summary
    assert main([*args, "--frames", "0"]) == EXIT_USAGE
