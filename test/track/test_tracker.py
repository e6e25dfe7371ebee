"""The tracker's rules, on hand-made boxes: what is protected, what coasts, what resets."""

from __future__ import annotations

from inspire_ros import config as config_mod
from inspire_ros.track.guard import TemporalGuard
from inspire_ros.track.lookahead import plan
from inspire_ros.types import Box, Detection

SIZE = (480, 640)  # height, width


def person(x: int, score: float = 0.9, y: int = 100) -> Detection:
    return Detection(Box(x, y, x + 40, y + 100), "person", 0, score)


def guard(**tracking) -> TemporalGuard:
    return TemporalGuard(config_mod.from_dict({"tracking": {"enabled": True, **tracking}}), salt=1)


def test_low_score_boxes_are_protected_only_where_a_track_confirms_them():
    g = guard()
    assert g.update([person(100, 0.15)], SIZE) == []  # alone: not protected
    assert len(g.update([person(100, 0.9)], SIZE)) == 1
    (d,) = g.update([person(104, 0.15)], SIZE)  # the track's person, now scored low
    assert d.source == "confirmed" and d.track_id is not None
    assert d.box.x0 <= 104 and d.box.x1 >= 144  # at least the box found (union with the prediction)


def test_a_lost_track_coasts_for_coast_frames_then_stops():
    g = guard(coast_frames=3)
    for i in range(5):
        g.update([person(100 + 5 * i)], SIZE)
    coasted = [g.update([], SIZE) for _ in range(5)]
    assert [len(c) for c in coasted] == [1, 1, 1, 0, 0]
    first, last = coasted[0][0], coasted[2][0]
    assert first.source == "coasted" and first.box.x0 > 100  # moved on with the track's speed
    assert last.box.width > first.box.width  # less sure with every frame: larger
    assert g.receipt.to_dict()["instances"]["person"] == {"detected": 5, "coasted": 3}


def test_time_jumps_and_size_changes_reset_the_tracker():
    g = guard(coast_frames=5, max_gap_seconds=0.5)
    second = 1_000_000_000
    g.update([person(100)], SIZE, stamp_ns=10 * second)
    assert len(g.update([], SIZE, stamp_ns=10 * second + second // 10)) == 1  # coasting
    assert g.update([], SIZE, stamp_ns=9 * second) == []  # stamp went backwards: reset
    g.update([person(100)], SIZE, stamp_ns=9 * second)
    assert g.update([], SIZE, stamp_ns=11 * second) == []  # a 2 s gap: reset
    g.update([person(100)], SIZE, stamp_ns=11 * second)
    assert g.update([], (240, 320), stamp_ns=11 * second + 1) == []  # new frame size: reset
    assert g.receipt.resets == {"stamp went backwards": 1, "time gap": 1, "frame size changed": 1}


def test_lookahead_fills_gaps_and_extends_track_ends():
    cfg = config_mod.from_dict({"tracking": {"enabled": True}, "lookahead": {"enabled": True, "extend_frames": 2}})
    xs = {2: 100, 3: 104, 6: 116, 7: 120}  # seen in frames 2, 3, 6, 7 of 10
    frames = [[person(xs[i])] if i in xs else [] for i in range(10)]
    out, receipt = plan(frames, [SIZE] * 10, cfg)
    sources = [[d.source for d in f] for f in out]
    assert sources == [["extended"], ["extended"], ["detected"], ["detected"], ["filled"], ["filled"], ["detected"],
                       ["detected"], ["extended"], ["extended"]]  # fmt: skip
    x4 = out[4][0].box
    assert x4.x0 <= 108 and x4.x1 >= 148  # the interpolated position (108) inside the filled box
    assert len({d.track_id for f in out for d in f}) == 1
    assert receipt.gaps_filled == [2]


def test_tracks_do_not_cross_categories():
    g = guard()
    g.update([person(100)], SIZE)
    car = Detection(Box(100, 100, 140, 200), "car", 2, 0.15)
    assert [d.source for d in g.update([car], SIZE)] == ["coasted"]  # the low car is not confirmed by the person


def test_lookahead_never_crosses_a_change_of_frame_size():
    cfg = config_mod.from_dict({"tracking": {"enabled": True}, "lookahead": {"enabled": True, "extend_frames": 3}})
    sizes = [(480, 640)] * 5 + [(576, 768)] * 10
    frames = [[person(100 + 4 * i)] if i not in (8, 9) else [] for i in range(15)]
    out, _ = plan(frames, sizes, cfg)
    assert [d.source for d in out[8]] == ["filled"] and [d.source for d in out[9]] == ["filled"]
    assert all(d.source == "detected" for f in out[:5] for d in f)  # nothing of the later track leaks back


def test_extension_moves_the_box_but_does_not_extrapolate_its_size():
    cfg = config_mod.from_dict({"tracking": {"enabled": True}, "lookahead": {"enabled": True, "extend_frames": 10}})
    # A static object found with a box that keeps growing (jitter of low-score boxes).
    boxes = [Box(300 - 2 * i, 300 - 3 * i, 320 + 2 * i, 330 + 3 * i) for i in range(5)]
    frames = [[Detection(b, "person", 0, 0.9)] for b in boxes] + [[] for _ in range(10)]
    out, _ = plan(frames, [SIZE] * 15, cfg)
    last = boxes[-1]
    for f in out[5:]:
        (d,) = f
        assert d.source == "extended"
        assert d.box.width <= 2 * last.width + 2 and d.box.height <= 2 * last.height + 2  # grown, never more
        assert abs((d.box.x0 + d.box.x1) / 2 - 310) <= 1  # the centre did not move
