"""`inspire bag bench` on a handful of frames: every figure is there (no timing assertions)."""

import json

import pytest

from inspire_ros.cli.main import main

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


def test_bag_bench_prints_and_writes_the_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bag", "bench", "--frames", "2", "--storage", "sqlite3", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for what in ("(a) live chain", "(b) sanitize", "sanitize / chain =", "(c) raw copy", "MB/s", "(d) peak RSS"):
        assert what in printed
    figures = json.loads(out.read_text())
    assert figures["resolution"] == "768x576" and figures["encoding"] == "rgb8" and figures["frames"] == 2
    assert figures["bag_messages"] == 2 * (1 + figures["imu_per_frame"]) and "sqlite3" in figures["bag"]
    for key in ("chain_fps", "sanitize_fps", "sanitize_over_chain", "copy_messages_per_s", "copy_mb_per_s"):
        assert figures[key] > 0, key
    assert figures["sanitize_n"]["frames"] == 2 and figures["sanitize_2n"]["frames"] == 4
    assert set(figures["rss_growth_mb"]) == {"n", "2n"}
    assert list(tmp_path.iterdir()) == [out]
