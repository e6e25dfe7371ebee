"""`sanitize-many`: several bags in parallel processes, failures isolated, --resume skips done ones."""

import json
import sys

import pytest
from camera_bags import BagSpec, write_camera_bag

from inspire_ros.bag.batch import BatchSettings, plan_jobs, sanitize_many
from inspire_ros.bag.sanitize import SanitizeOptions
from inspire_ros.bag.verify import load_report, verify
from inspire_ros.cli.main import main

from conftest import SHARED

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


class FakeRay:
    """Just enough of ray's API to see what sanitize-many asks of a cluster; tasks run inline."""

    def __init__(self):
        self.init_kwargs: dict = {}
        self.remote_kwargs: dict | None = None

    def init(self, **kwargs):
        self.init_kwargs = kwargs

    def remote(self, *args, **kwargs):
        if args:
            return FakeTask(args[0])
        self.remote_kwargs = kwargs
        return FakeTask

    def wait(self, refs, num_returns):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref.result


class FakeTask:
    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args):
        ref = type("Ref", (), {})()
        ref.result = self.fn(*args)
        return ref


def test_ray_tasks_get_gpus_and_the_model_folder(tmp_path, monkeypatch):
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(tmp_path / "models"))  # empty: models resolve further down
    settings = BatchSettings(None, (("seed", 0),), SanitizeOptions())
    jobs = plan_jobs([TALKER], tmp_path / "out", False, False)
    (result,) = sanitize_many(jobs, settings, ray_address="auto", ray_gpus=0.5)
    assert result.status == "done", result.error
    assert fake.remote_kwargs == {"num_gpus": 0.5}
    assert fake.init_kwargs["address"] == "auto"
    assert fake.init_kwargs["runtime_env"]["env_vars"]["INSPIRE_MODEL_DIR"] == str(tmp_path / "models")
