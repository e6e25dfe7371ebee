"""`inspire bag sanitize --resume`: a run killed with SIGKILL leaves no finished-looking output, and
resuming it takes the finished frames from its journal and ends byte-identical to a run that was
never interrupted. Real processes, real frames."""

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspire_ros import config as config_mod
from inspire_ros.bag.batch import BatchSettings, plan_jobs, sanitize_many
from inspire_ros.bag.errors import BagError
from inspire_ros.bag.journal import WorkDir, count_frames, journal_path, work_dir
from inspire_ros.bag.sanitize import SanitizeOptions, sanitize
from inspire_ros.bag.source import BagSource
from inspire_ros.bag.verify import verify
from inspire_ros.bench.camera_bags import IMAGE_TOPIC, BagSpec, write_camera_bag
from inspire_ros.cli.main import main
from inspire_ros.paths import default_config_path
from inspire_ros.pipeline import Anonymizer

from support import read_video_frames

INSPIRE = Path(sys.executable).parent / "inspire"  # the venv's console script
FRAMES = 30  # x2 image topics: 60 frames to anonymize
QUIET = SanitizeOptions(progress=False)


@pytest.fixture(scope="module")
def camera_bag(shared, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    frames = read_video_frames(list(range(0, FRAMES * 10, 10)))
    spec = BagSpec(storage="mcap", compressed_format="rgb8; jpeg compressed bgr8")
    return write_camera_bag(folder / "drive", frames, spec)


@pytest.fixture(scope="module")
def small_bag(shared, tmp_path_factory) -> Path:
    """6 frames on each image topic, for the in-process tests."""
    folder = tmp_path_factory.mktemp("in")
    frames = read_video_frames([0, 100, 200, 300, 400, 500])
    spec = BagSpec(storage="mcap", compressed_format="rgb8; jpeg compressed bgr8")
    return write_camera_bag(folder / "short", frames, spec)


def inspire(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(INSPIRE), *args], capture_output=True, text=True, timeout=600)


def messages(path: Path) -> list[tuple[str, int, bytes]]:
    with BagSource(path) as source:
        return [(c.topic, t, bytes(d)) for c, t, d in source.messages()]


def kill_mid_run(src: Path, dst: Path, at_least: int) -> int:
    """Start a seeded sanitize, SIGKILL it once its journal holds `at_least` frames; frames kept."""
    proc = subprocess.Popen(
        [str(INSPIRE), "bag", "sanitize", str(src), str(dst), "--seed", "1", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = journal_path(dst)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and count_frames(journal) >= at_least:
            break
        time.sleep(0.02)
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert still_running, f"the run ended before it could be killed (rc {proc.returncode}): {out} {err}"
    return count_frames(journal)


def test_killed_run_resumes_to_the_same_bag(camera_bag, tmp_path):
    ref, ref_report = tmp_path / "ref", tmp_path / "ref.json"
    done = inspire("bag", "sanitize", str(camera_bag), str(ref), "--seed", "1", "--quiet", "--report", str(ref_report))
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    kept = kill_mid_run(camera_bag, out, at_least=5)
    assert 5 <= kept < 2 * FRAMES
    # Nothing that reads as a finished bag: only the hidden work folder with the journal.
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.inspire-tmp", "ref", "ref.json"]

    # The journal belongs to that input and those settings: anything else is refused, and kept.
    wrong = inspire("bag", "sanitize", str(camera_bag), str(out), "--seed", "2", "--resume", "--quiet")
    assert wrong.returncode == 2 and "seed 1 -> 2" in wrong.stderr and "without --resume" in wrong.stderr
    wrong = inspire("bag", "sanitize", str(camera_bag), str(out), "--seed", "1", "--method", "blur", "--resume")
    assert wrong.returncode == 2 and "config differs" in wrong.stderr
    assert count_frames(journal_path(out)) == kept and not out.exists()

    report_path = tmp_path / "out.json"
    resumed = inspire(
        "bag", "sanitize", str(camera_bag), str(out), "--seed", "1", "--resume", "--quiet", "--report", str(report_path)
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {kept} frame(s) taken from the journal" in resumed.stdout
    report = json.loads(report_path.read_text())
    assert report["summary"]["frames_from_journal"] == kept and report["summary"]["frames"] == 2 * FRAMES
    assert report["resumed_from"] == str(journal_path(out))
    assert sum(t.get("frames_from_journal", 0) for t in report["topics"]) == kept
    assert not work_dir(out).exists()

    # Byte-identical to the uninterrupted run: every message, in order, with its log timestamp.
    assert messages(out) == messages(ref)
    assert report["frames"] == json.loads(ref_report.read_text())["frames"]
    # With the offline default (thorough: tracker + look-ahead), planned from the kept detection pass.
    coverage = {t["topic"]: t.get("coverage") for t in report["topics"] if t["role"] == "anonymize"}
    ref_coverage = {t["topic"]: t.get("coverage") for t in json.loads(ref_report.read_text())["topics"]}
    assert report["preset"] == "thorough" and all(c and c["tracks"] > 0 for c in coverage.values())
    assert all(coverage[t] == ref_coverage[t] for t in coverage)
    verified = inspire("bag", "verify", str(camera_bag), str(out), "--report", str(report_path))
    assert verified.returncode == 0 and "verify PASSED" in verified.stdout, verified.stdout


def test_resume_without_a_journal_is_refused(small_bag, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["bag", "sanitize", str(small_bag), str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no interrupted run of" in err and "run without --resume" in err
    assert list(tmp_path.iterdir()) == []


class StopAfter:
    """A detector that raises KeyboardInterrupt (Ctrl-C) on call `n`; before, it finds nothing or
    what `inner` finds."""

    provider = "none"

    def __init__(self, n: int, inner=None):
        self.n, self.calls, self.inner = n, 0, inner

    def detect(self, frame):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.inner.detect(frame) if self.inner else []


class StopAfterFrames(Anonymizer):
    """Ctrl-C while anonymizing frame `n` (the detection pass of look-ahead is not counted)."""

    def __init__(self, cfg, n: int):
        super().__init__(cfg)
        self.n, self.frames = n, 0

    def anonymize(self, frame, *args, **kwargs):
        self.frames += 1
        if self.frames == self.n:
            raise KeyboardInterrupt
        return super().anonymize(frame, *args, **kwargs)


def interrupted(src: Path, dst: Path, default_cfg, n: int, real: Anonymizer | None = None) -> None:
    detector = StopAfter(n, real.detector if real else None)
    anonymizer = Anonymizer(default_cfg.replace(seed=1), detector, getattr(real, "extractors", None),
                            getattr(real, "generators", None))  # fmt: skip
    notes = []
    with pytest.raises(KeyboardInterrupt):
        sanitize(src, dst, anonymizer, QUIET, notify=notes.append)
    assert not dst.exists() and "continue with --resume" in notes[-1]


def test_ctrl_c_keeps_the_journal_and_a_new_run_starts_over(small_bag, tmp_path, default_cfg, capsys):
    out = tmp_path / "out"
    interrupted(small_bag, out, default_cfg, n=8)
    assert count_frames(journal_path(out)) == 7 and not (work_dir(out) / "build").exists()
    # Without --resume the leftovers go, and the run says so.
    assert main(["bag", "sanitize", str(small_bag), str(out), "--method", "fill", "--quiet"]) == 0
    assert "removed the leftovers of an interrupted run" in capsys.readouterr().err
    assert out.is_dir() and not work_dir(out).exists()


def test_damaged_frames_are_redone_and_a_damaged_journal_is_refused(small_bag, tmp_path, default_cfg, capsys):
    out = tmp_path / "out"
    real = Anonymizer(default_cfg.replace(seed=1))
    interrupted(small_bag, out, default_cfg, n=5, real=real)
    db = sqlite3.connect(journal_path(out))
    with db:  # what an OS crash without fsync can leave: a page of zeros where frame bytes were
        db.execute("UPDATE frames SET data = zeroblob(length(data)) WHERE topic = ? AND idx = 1", (IMAGE_TOPIC,))
    db.close()
    report = sanitize(small_bag, out, real, dataclasses.replace(QUIET, resume=True))
    assert report.frames_from_journal == 3 and report.topics[IMAGE_TOPIC].frames_changed == 6
    assert verify(small_bag, out, report.to_dict()).ok

    other = tmp_path / "other"
    work_dir(other).mkdir()
    journal_path(other).write_bytes(b"not a database" * 100)
    assert main(["bag", "sanitize", str(small_bag), str(other), "--resume", "--quiet"]) == 2
    assert "is damaged" in capsys.readouterr().err and journal_path(other).is_file()


def test_a_live_run_is_not_disturbed(tmp_path):
    out = tmp_path / "out"
    live = WorkDir(out, resume=False)
    try:
        with pytest.raises(BagError, match="another inspire process is writing"):
            WorkDir(out, resume=False)
    finally:
        live.finish(keep_journal=False)
    assert not work_dir(out).exists()


def test_sanitize_many_resume_continues_an_interrupted_bag(small_bag, tmp_path, default_cfg):
    out_dir = tmp_path / "many"
    # sanitize-many runs the offline default, the thorough preset: the interrupted run did too.
    thorough = config_mod.load(default_config_path(), preset="thorough").replace(seed=1)
    notes = []
    with pytest.raises(KeyboardInterrupt):  # in pass 2, after the look-ahead's detection pass
        sanitize(small_bag, out_dir / small_bag.name, StopAfterFrames(thorough, 4), QUIET, notify=notes.append)
    assert "continue with --resume" in notes[-1]
    assert (work_dir(out_dir / small_bag.name) / "detections.json").is_file()  # pass 1 is kept too
    # The batch runs the real detector: frames from the journal (no detections) must still be used.
    settings = BatchSettings(None, (("seed", 1),), dataclasses.replace(SanitizeOptions(), resume=True))
    (result,) = sanitize_many(plan_jobs([small_bag], out_dir, False, True), settings, workers=1, resume=True)
    assert result.status == "done", result.error
    report = json.loads((out_dir / f"{small_bag.name}.report.json").read_text())
    assert report["summary"]["frames_from_journal"] == 3
    topics = {t["topic"]: t for t in report["topics"]}
    assert topics[IMAGE_TOPIC]["frames_from_journal"] == 2  # raw and compressed frames alternate
    assert not work_dir(out_dir / small_bag.name).exists()


def test_output_moves_into_place_only_when_complete(small_bag, tmp_path):
    # An uninterrupted run leaves nothing behind but the bag.
    out = tmp_path / "out.mcap"
    done = inspire("bag", "sanitize", str(small_bag), str(out), "--method", "fill", "--quiet")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.mcap"]
    assert os.path.getsize(out) > 0
