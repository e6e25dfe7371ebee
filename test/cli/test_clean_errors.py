"""Errors that must be clean: exit 2 (or 3 for frames that failed), one line `inspire: error: ...`
naming the problem and the fix, and nothing half-written left behind (issue 13)."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from inspire_ros import model_store
from inspire_ros.cli.main import main

from support import BUS, VTEST, read_video_frames

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

INSPIRE = str(Path(sys.executable).parent / "inspire")
# Without CAP_DAC_OVERRIDE root obeys file permissions like anyone else.
NO_DAC = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if "inspire-tmp" in p.name or "inspire-old" in p.name]


def assert_one_line(err: str, *expect: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspire: error: "), err
    for text in expect:
        assert text in lines[0], err


def unprivileged(cmd: list[str]) -> list[str]:
    """`cmd` as a process that file permissions apply to (root drops its override)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be denied")
    return ["setpriv", *NO_DAC, "--", *cmd]


def run_cli(args: list[str], preexec_fn=None, privileged: bool = True, timeout: float = 300):
    cmd = [INSPIRE, *args] if privileged else unprivileged([INSPIRE, *args])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn)


@pytest.fixture
def read_only(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


# --- outputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["out.png", "new/out.png"])
def test_output_in_a_read_only_folder_is_one_line(read_only, where):
    r = run_cli(["anonymize", str(BUS), str(read_only / where), "--method", "fill"], privileged=False)
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, "cannot write output", "Permission denied", "permissions")
    assert ".inspire-tmp" not in r.stderr and not list(read_only.iterdir())


def test_bag_sanitize_into_a_read_only_folder_is_one_line(tmp_path, read_only):
    from inspire_ros.bench.camera_bags import BagSpec, write_camera_bag

    src = write_camera_bag(tmp_path / "camera", read_video_frames([150]), BagSpec(storage="mcap"))
    r = run_cli(["bag", "sanitize", str(src), str(read_only / "out"), "--quiet", "--method", "fill"], privileged=False)
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, "Permission denied", str(read_only))
    assert not list(read_only.iterdir())


def test_unsupported_output_is_called_an_output(tmp_path, capsys):
    assert main(["anonymize", str(BUS), str(tmp_path / "out.txt")]) == 2
    assert_one_line(capsys.readouterr().err, "unsupported output", "out.txt")


def test_outputs_that_would_clobber_the_input_or_cannot_be_made(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(BUS, src / "bus.jpg")
    (tmp_path / "link.jpg").symlink_to(src / "bus.jpg")
    (tmp_path / "afile").write_text("x")
    cases = [
        (["anonymize", str(src / "bus.jpg"), str(tmp_path / "link.jpg"), "--force"], "same path"),
        (["anonymize", str(src), str(tmp_path / "afile"), "--force"], "is a file"),
        (["anonymize", str(BUS), str(tmp_path / "afile" / "out.png")], "is a file, not a folder"),
        (["anonymize", str(src), str(tmp_path), "--force"], "inside the output folder"),
        (["anonymize", str(BUS), str(tmp_path / "o.png"), "--audit", str(tmp_path / "o.png")], "--audit"),
        (["anonymize", str(BUS), str(tmp_path / "o.png"), "--audit", str(BUS)], "--audit"),
        (["anonymize", str(BUS), str(tmp_path / "o.png"), "--seed", "-1"], "'seed'"),
    ]
    for args, expect in cases:
        assert main(args) == 2, args
        assert_one_line(capsys.readouterr().err, expect)
    assert (src / "bus.jpg").read_bytes() == BUS.read_bytes() and not (tmp_path / "o.png").exists()
    assert not leftovers(tmp_path)
    with pytest.raises(SystemExit) as e:  # argparse: usage, exit 2
        main(["anonymize", str(VTEST), str(tmp_path / "v.mp4"), "--max-frames", "0"])
    assert e.value.code == 2 and "at least 1" in capsys.readouterr().err


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


@pytest.mark.parametrize(
    "name, extra", [("bus.png", []), ("v.avi", ["--max-frames", "12"]), ("v.mp4", ["--max-frames", "40"])]
)
def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path, name, extra):
    """The file size limit fails writes as a full disk does; OpenCV's video writer hides
    them, so the output is read back before it is renamed into place."""
    src = BUS if name.endswith(".png") else VTEST
    r = run_cli(["anonymize", str(src), str(tmp_path / name), "--method", "fill", "--quiet", *extra], _limit_file_size)
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, f"cannot write output {tmp_path / name}", "free space")
    assert not list(tmp_path.iterdir())


# --- damaged inputs ------------------------------------------------------------------------------


def test_a_truncated_jpeg_is_refused(tmp_path, capsys):
    data = BUS.read_bytes()
    src = tmp_path / "cut.jpg"
    src.write_bytes(data[: len(data) // 2])
    assert cv2.imread(str(src)) is not None  # OpenCV alone decodes it: a grey lower half
    out = tmp_path / "out"
    out.mkdir()
    assert main(["anonymize", str(src), str(out / "o.jpg"), "--audit", str(out / "a.json")]) == 2
    assert_one_line(capsys.readouterr().err, "truncated", "cut.jpg")
    assert not list(out.iterdir())


def test_damaged_images_in_a_folder_are_failed_frames(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    data = BUS.read_bytes()
    (src / "a.jpg").write_bytes(data)
    (src / "b.jpg").write_bytes(data[: len(data) // 2])  # truncated: blanked at its size
    (src / "c.jpg").write_bytes(os.urandom(4000))  # nothing decodes: nothing to blank
    out, audit = tmp_path / "out", tmp_path / "a.json"
    assert main(["anonymize", str(src), str(out), "--audit", str(audit), "--method", "fill", "--quiet"]) == 3
    assert "2 frame(s) could not be anonymized" in capsys.readouterr().err
    report = json.loads(audit.read_text())
    assert [f["status"] for f in report["frames"]] == ["ok", "blanked", "dropped"]
    assert report["summary"]["frames_failed"] == 2 and "truncated" in report["frames"][1]["error"]
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg"]
    blank = cv2.imread(str(out / "b.jpg"))
    assert blank.shape == (1080, 810, 3) and blank.max() < 10


def _damaged_video(folder: Path, ext: str, damage: str) -> Path:
    frames = read_video_frames(list(range(40)))
    clip = folder / f"clip{ext}"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*("mp4v" if ext == ".mp4" else "MJPG")), 10, (768, 576))
    for f in frames:
        w.write(f)
    w.release()
    data = bytearray(clip.read_bytes())
    n = len(data)
    if damage == "zeros":
        data[n // 2 : n // 2 + 20000] = bytes(20000)
    else:
        data = data[: n // 2]
    bad = folder / f"bad{ext}"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("ext, damage", [(".mp4", "zeros"), (".avi", "zeros"), (".avi", "cut")])
def test_a_video_damaged_mid_stream_reports_its_failed_and_missing_frames(tmp_path, capsys, ext, damage):
    src = _damaged_video(tmp_path, ext, damage)
    out, audit = tmp_path / f"out{ext}", tmp_path / "a.json"
    assert main(["anonymize", str(src), str(out), "--audit", str(audit), "--method", "fill", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "could not be" in err and "[ WARN" not in err and "@ 0x" not in err  # the decoder's noise is caught
    report = json.loads(audit.read_text())
    summary = report["summary"]
    written = len(report["frames"])
    assert summary["frames_failed"] >= 1 and written + summary["frames_missing"] == 40
    assert summary["frames_failed"] == summary["frames_missing"] + sum(f["status"] != "ok" for f in report["frames"])
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == written
    for f in report["frames"]:  # a frame the decoder complained about is black, never passed on
        ok, frame = cap.read()
        assert ok and (f["status"] == "ok" or frame.max() < 10)


# --- config and models through the command line -----------------------------------------------


def billion_laughs(use: str = "method: *l9") -> str:
    """Nine aliases of nine aliases ... of "lol": 9**10 values once expanded, in 400 bytes."""
    levels = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "extractor:\n  params:\n" + "".join(f"    {line}\n" for line in levels) + use + "\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    """It used to hang (an error message printing the expanded value) with RSS climbing."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    start = time.monotonic()
    r = run_cli(["anonymize", str(BUS), str(tmp_path / "o.png"), "--config", str(bomb)], timeout=60)
    assert r.returncode == 2 and time.monotonic() - start < 20
    assert_one_line(r.stderr, str(bomb), "aliases")


def test_bad_config_files_are_one_line(tmp_path, capsys):
    cases = {
        "junk.yaml": (os.urandom(2000), "not a YAML text file"),
        "twice.yaml": (b"detector:\n  score_threshold: 0.3\n  score_threshold: 0.9\n", "'detector.score_threshold'"),
        "folder.yaml": (None, "is a directory"),
    }
    for name, (content, expect) in cases.items():
        path = tmp_path / name
        path.mkdir() if content is None else path.write_bytes(content)
        assert main(["anonymize", str(BUS), str(tmp_path / "o.png"), "--config", str(path)]) == 2
        assert_one_line(capsys.readouterr().err, expect, str(path))
    assert not (tmp_path / "o.png").exists()


def test_a_model_that_is_not_onnx_is_one_line(tmp_path, capsys):
    fake = tmp_path / "detector.onnx"
    fake.write_text("this is not a model\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"detector:\n  model: {fake}\n  sha256: {model_store.sha256_of(fake)}\n")
    assert main(["anonymize", str(BUS), str(tmp_path / "o.png"), "--config", str(cfg)]) == 2
    assert_one_line(capsys.readouterr().err, str(fake), "not an ONNX model", "To fix")
    assert not (tmp_path / "o.png").exists()


def test_an_unreadable_model_is_one_line(tmp_path):
    model = tmp_path / "yolox_nano.onnx"
    shutil.copy(model_store.resolve("yolox_nano.onnx"), model)
    model.chmod(0)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"detector:\n  model: {model}\n")
    r = run_cli(["anonymize", str(BUS), str(tmp_path / "o.png"), "--config", str(cfg)], privileged=False)
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, f"cannot read model file {model}", "permissions")


# --- temporaries of killed runs -----------------------------------------------------------------


def test_a_later_run_removes_what_a_killed_run_left_and_says_so(tmp_path, capsys):
    from inspire_ros.io.media import AtomicPath

    out = tmp_path / "full.mp4"
    proc = subprocess.Popen([INSPIRE, "anonymize", str(VTEST), str(out), "--quiet", "--method", "fill"])
    deadline = time.time() + 60
    while not leftovers(tmp_path) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    # Another run writing the same output meanwhile: it holds a lock on its temporary.
    alive = AtomicPath(out)
    try:
        (dead,) = [name for name in leftovers(tmp_path) if name != alive.tmp.name]
        proc.kill()  # SIGKILL: no cleanup of its own
        proc.wait(timeout=30)
        assert main(["anonymize", str(VTEST), str(out), "--max-frames", "2", "--method", "fill", "--quiet"]) == 0
        assert f"removed {tmp_path / dead}" in capsys.readouterr().err
        assert leftovers(tmp_path) == [alive.tmp.name] and out.exists()
    finally:
        proc.kill()
        alive.discard()
    assert not leftovers(tmp_path)


def test_ctrl_c_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "v.mp4"
    proc = subprocess.Popen([INSPIRE, "anonymize", str(VTEST), str(out), "--quiet"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not leftovers(tmp_path) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "inspire: interrupted", err
    assert not out.exists() and not leftovers(tmp_path)


def test_frames_larger_than_max_frame_pixels_are_refused_before_the_chain(tmp_path, capsys):
    small = tmp_path / "small.yaml"
    small.write_text("max_frame_pixels: 100000\nextractor: {type: contrast}\ngenerator: {type: procedural}\n")
    # A single image (810x1080, judged from its JPEG header) and a video (768x576): exit 2, nothing written.
    assert main(["anonymize", str(BUS), str(tmp_path / "o.jpg"), "--config", str(small), "--quiet"]) == 2
    assert "max_frame_pixels" in capsys.readouterr().err and not (tmp_path / "o.jpg").exists()
    assert main(["anonymize", str(VTEST), str(tmp_path / "o.mp4"), "--config", str(small), "--max-frames", "2"]) == 2
    assert "max_frame_pixels" in capsys.readouterr().err and not (tmp_path / "o.mp4").exists()
    # In a folder the oversized image is one failed frame (never passed through); the others are done.
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(BUS, folder / "big.jpg")
    cv2.imwrite(str(folder / "tiny.jpg"), cv2.resize(cv2.imread(str(BUS)), (200, 260)))
    audit = tmp_path / "a.json"
    code = main(["anonymize", str(folder), str(tmp_path / "out"), "--config", str(small), "--audit", str(audit)])
    assert code == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny.jpg"]
    frames = {f["name"]: f for f in json.loads(audit.read_text())["frames"]}
    assert frames["big.jpg"]["status"] == "dropped" and "max_frame_pixels" in frames["big.jpg"]["error"]
