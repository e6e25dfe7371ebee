"""`sanitize-many`: several bags in parallel processes, failures isolated, --resume skips done ones."""

import json

import pytest

from inspire_ros.bag.batch import BatchSettings, plan_jobs, sanitize_many
from inspire_ros.bag.sanitize import SanitizeOptions
from inspire_ros.bag.verify import load_report, verify
from inspire_ros.bench.camera_bags import BagSpec, write_camera_bag
from inspire_ros.cli.main import main

from support import SHARED

TESTBAGS = SHARED / "data" / "rosbag2_testbags"
TALKER = TESTBAGS / "rosbag2_py/test/resources/sqlite3/talker"
WRONG = TESTBAGS / "rosbag2_tests/resources/mcap/wrong_rmw_test"


@pytest.fixture
def inputs(tmp_path, vtest_frames):
    frames = [vtest_frames[1], vtest_frames[2]]
    a = write_camera_bag(tmp_path / "in" / "front", frames, BagSpec(storage="mcap"))
    b = write_camera_bag(tmp_path / "in" / "rear.bag", frames, BagSpec(kind="rosbag1", encoding="rgb8"))
    return [a, b, TALKER, WRONG]


def test_many_bags_in_parallel_with_resume(inputs, tmp_path):
    out = tmp_path / "out"
    settings = BatchSettings(None, (("seed", 0),), SanitizeOptions())
    seen = []
    results = sanitize_many(plan_jobs(inputs, out, False, False), settings, workers=2, on_result=seen.append)
    assert [r.status for r in results] == ["done", "done", "done", "failed"] and len(seen) == 4
    assert "wrong_format" in results[3].error
    assert results[0].frames == results[1].frames == 2 and results[2].frames == 0
    for src in inputs[:3]:
        report = load_report(out / f"{src.name}.report.json")
        assert report["seed"] == 0
        assert verify(src, out / src.name, report).ok
    assert not (out / WRONG.name).exists() and not [p for p in out.iterdir() if "inspire-tmp" in p.name]

    with pytest.raises(FileExistsError, match="--resume"):
        plan_jobs(inputs, out, False, False)
    # A finished bag is skipped; a bag whose report is missing (cut short) is redone.
    (out / "rear.bag.report.json").unlink()
    results = sanitize_many(plan_jobs(inputs, out, False, True), settings, workers=1, resume=True)
    assert [r.status for r in results] == ["skipped", "done", "skipped", "failed"]


def test_clashing_names_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(Exception, match="would both be written"):
        plan_jobs([tmp_path / "a" / "x.bag", tmp_path / "b" / "x.bag"], tmp_path / "out", False, False)


def test_cli_falls_back_to_processes_without_ray(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("inspire_ros.bag.batch.ray_available", lambda: False)
    out = tmp_path / "out"
    args = ["bag", "sanitize-many", *map(str, inputs[:3]), "--out", str(out), "--jobs", "1", "--ray", "auto", "--quiet"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "ray is not installed" in captured.err and "3 bag(s) sanitized, 0 skipped, 0 failed" in captured.out
    assert json.loads((out / "front.report.json").read_text())["summary"]["frames"] == 2
    assert main([*args, "--resume"]) == 0
    assert "0 bag(s) sanitized, 3 skipped" in capsys.readouterr().out
    assert main(["bag", "sanitize-many", str(WRONG), "--out", str(out), "--quiet"]) == 1
    assert "failed: " in capsys.readouterr().out


def test_real_local_ray_gives_the_same_bags(inputs, tmp_path, monkeypatch):
    """One Ray task per bag on a real local Ray instance: the same results as the process pool."""
    ray = pytest.importorskip("ray", reason="needs the ray extra")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(tmp_path / "models"))  # passed on to the workers
    settings = BatchSettings(None, (("seed", 0),), SanitizeOptions())
    local = sanitize_many(plan_jobs(inputs[:3], tmp_path / "local", False, False), settings, workers=1)
    try:
        remote = sanitize_many(plan_jobs(inputs[:3], tmp_path / "ray", False, False), settings, ray_address="local")
    finally:
        ray.shutdown()
    assert [r.status for r in remote] == [r.status for r in local] == ["done", "done", "done"]
    for src in inputs[:3]:
        a = load_report(tmp_path / "local" / f"{src.name}.report.json")
        b = load_report(tmp_path / "ray" / f"{src.name}.report.json")
        assert a["frames"] == b["frames"]  # same instances and statuses, frame by frame (seeded)
        assert verify(src, tmp_path / "ray" / src.name, b).ok
