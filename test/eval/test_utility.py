"""Detection mAP@0.5 and counting accuracy with the real judge detector."""

from __future__ import annotations

import pytest

from inspire_ros.eval.run import JudgeSettings, build_judge
from inspire_ros.eval.utility import UtilityAccumulator, average_precision, match
from inspire_ros.types import Box, Detection

from support import SHARED


@pytest.fixture(scope="module")
def judge(shared):
    return build_judge(JudgeSettings(), SHARED)


@pytest.mark.usefixtures("shared")
def test_judge_runs_at_a_larger_input_than_the_pipeline(judge, default_cfg):
    detector, cfg = judge
    assert detector.size == 640 > default_cfg.detector.input_size
    assert cfg.model.endswith("yolox_nano_dynamic.onnx")
    small, _ = build_judge(JudgeSettings(input_size=320, score_threshold=0.5), SHARED)
    assert small.size == 320 and small.score_threshold == 0.5


def test_map_of_none_against_itself_is_one_and_drops_with_missed_instances(judge, vtest_frames, camvid_frames):
    detector, _ = judge
    refs = [detector.detect(f) for f in [*vtest_frames, *camvid_frames]]
    n = {c: sum(d.category == c for r in refs for d in r) for c in ("person", "car")}
    assert n["person"] >= 10 and n["car"] >= 4
    same = UtilityAccumulator()
    for r in refs:
        same.add(r, r)
    assert same.ap() == {"person": 1.0, "car": 1.0}
    assert same.map() == 1.0 and same.count_accuracy() == 1.0 and same.count_exact() == 1.0
    no_people = UtilityAccumulator()
    for r in refs:
        no_people.add(r, [d for d in r if d.category != "person"])
    assert no_people.ap() == {"person": 0.0, "car": 1.0}
    assert no_people.map() == 0.5
    assert no_people.count_accuracy() == pytest.approx(n["car"] / (n["person"] + n["car"]))


def test_average_precision_is_all_point_interpolated():
    # Ranked: hit, miss, hit over 2 ground truths -> 0.5 * 1 + 0.5 * 2/3.
    assert average_precision([0.9, 0.8, 0.7], [True, False, True], 2) == pytest.approx(5 / 6)
    assert average_precision([], [], 3) == 0.0
    assert average_precision([0.5], [False], 0) != average_precision([0.5], [False], 0)  # NaN: no ground truth


def test_matching_is_greedy_by_score_and_one_to_one():
    gt = [Box(0, 0, 10, 10)]
    preds = [Box(0, 0, 10, 9), Box(0, 0, 10, 10)]
    assert match(gt, preds, [0.4, 0.9]) == [False, True]  # the higher score takes the box
    assert match(gt, [Box(0, 0, 10, 4)], [0.9]) == [False]  # IoU 0.4 < 0.5
    acc = UtilityAccumulator()
    predicted = [Detection(p, "car", 2, s) for p, s in zip(preds, [0.4, 0.9], strict=True)]
    acc.add([Detection(gt[0], "car", 2, 0.9)], predicted)
    assert acc.ap()["car"] == 1.0 and acc.count_accuracy() == 0.0  # two cars counted where there is one
