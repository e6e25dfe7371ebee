"""Fail closed in a live node: injected generator failures, bad models and configs, signals."""

from __future__ import annotations

import os
import shutil
import signal
import time

import numpy as np
import pytest
import yaml
from sensor_msgs.msg import Image

from inspire_ros.ros.harness import NodeProcess, image_msg, ros_env, stamp_ns, status_values

from conftest import SHARED, TEST_DIR, read_video_frames

NODE = "anonymizer_faults"
CAM = "faulty/image_raw"


def _env_with_test_plugins(workdir) -> dict:
    env = ros_env(workdir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TEST_DIR), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def flaky_node(tmp_path_factory, ros_client):
    work = tmp_path_factory.mktemp("node_faults")
    cfg = work / "flaky.yaml"
    # Weight-free masks (fast); the generator raises on every 3rd call.
    cfg.write_text(
        yaml.safe_dump(
            {
                "extractor": {"type": "contrast"},
                "generator": {"type": "plugins:FlakyGenerator", "params": {"fail_every": 3}},
            }
        )
    )
    proc = NodeProcess({"cameras": [CAM], "config_file": str(cfg)}, work, NODE, env=_env_with_test_plugins(work))
    try:
        proc.wait_log("active:")
        yield proc
    finally:
        assert proc.stop() == 0, proc.log()


def test_failed_frames_are_blanked_or_dropped_never_passed_through(ros_client, flaky_node):
    frames = read_video_frames([0, 20, 40, 60, 80, 100, 120, 140])
    pub = ros_client.publisher(Image, CAM, reliable=True)
    out = ros_client.subscribe(Image, f"{CAM}/anonymized")
    diag = ros_client.diagnostics()
    ros_client.wait(lambda: pub.get_subscription_count() > 0, 30, "the node's subscription")
    time.sleep(1.0)

    def send(frames, first_stamp):
        sent = {}
        for i, frame in enumerate(frames):
            msg = image_msg(frame, "bgr8", stamp_ns=first_stamp + i)
            sent[stamp_ns(msg)] = frame
            pub.publish(msg)
            time.sleep(0.4)  # slower than the chain: no frame is stale
        time.sleep(1.5)
        return sent

    sent = send(frames, 10_000_000_000)
    got = {stamp_ns(m): np.frombuffer(m.data, np.uint8).reshape(m.height, m.width, 3) for m in out.messages()}
    blanks = [s for s, g in got.items() if not g.any()]
    assert len(got) == len(sent) and blanks, f"{len(got)} answers, {len(blanks)} blank"
    for s, g in got.items():
        assert not np.array_equal(g, sent[s]), "an original frame was published"
    values = status_values(diag.messages()[-1], CAM)
    assert int(values["blanked"]) == len(blanks) and int(values["failed"]) == len(blanks)
    assert "injected generator failure" in values["last_error"]
    assert any(status_values(d, CAM)["level"] == "2" for d in diag.messages() if status_values(d, CAM))
    assert "injected generator failure" in flaky_node.log()

    # on_error: drop -> failed frames are not published at all.
    assert ros_client.set_parameters(NODE, {"on_error": "drop"}) == [(True, "")]
    out.clear()
    sent = send(frames, 20_000_000_000)
    got = {stamp_ns(m): np.frombuffer(m.data, np.uint8).reshape(m.height, m.width, 3) for m in out.messages()}
    assert 0 < len(got) < len(sent)
    for s, g in got.items():
        assert g.any() and not np.array_equal(g, sent[s])
    time.sleep(1.2)
    assert int(status_values(diag.messages()[-1], CAM)["dropped_on_error"]) == len(sent) - len(got)


def _run_to_exit(params: dict, workdir, timeout: float = 60.0) -> tuple[int, str]:
    proc = NodeProcess(params, workdir, "doomed")
    try:
        proc.proc.wait(timeout)
    finally:
        proc.stop()
    return proc.proc.returncode, proc.log()


def test_missing_or_tampered_model_stops_the_node_with_the_reason(tmp_path, ros_client):
    code, log = _run_to_exit({"detector.model": str(tmp_path / "nowhere" / "yolox_nano.onnx")}, tmp_path / "a")
    assert code == 1 and "not found" in log and "nowhere" in log
    tampered = tmp_path / "models" / "yolox_nano.onnx"
    tampered.parent.mkdir()
    shutil.copy(SHARED / "models" / "yolox_nano.onnx", tampered)
    with open(tampered, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    code, log = _run_to_exit({"detector.model": str(tampered)}, tmp_path / "b")
    assert code == 1 and "sha256" in log and str(tampered) in log


def test_bad_config_file_stops_the_node_naming_the_key(tmp_path, ros_client):
    bad = tmp_path / "bad.yaml"
    bad.write_text("detector:\n  score_treshold: 0.5\n")
    code, log = _run_to_exit({"config_file": str(bad)}, tmp_path)
    assert code == 2 and "detector.score_treshold" in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_the_node_down_cleanly(tmp_path, ros_client, sig):
    # Also shows the shipped params file is accepted by a real node.
    shipped = [TEST_DIR.parent / "config" / "anonymizer_node.yaml"]
    proc = NodeProcess(
        {"cameras": ["sig/image_raw"], "method": "fill"}, tmp_path, f"sig{int(sig)}", params_files=shipped
    )
    proc.wait_log("active:")
    start = time.monotonic()
    assert proc.stop(sig) == 0, proc.log()
    assert time.monotonic() - start < 15 and "shutting down" in proc.log()
