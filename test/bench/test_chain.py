import json

import pytest

from inspire_ros.cli.main import main

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder


def test_bench_reports_stages_ratio_and_memory(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--frames", "8", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for word in (
        "detect",
        "crop",
        "extract",
        "generate",
        "patch",
        "io",
        "detector alone",
        "chain / detector",
        "peak RSS",
    ):
        assert word in text
    figures = json.loads(out.read_text())
    assert figures["frames"] == 8 and figures["resolution"] == "768x576"
    assert set(figures["stage_ms"]) == {"detect", "crop", "extract", "generate", "patch", "io"}
    assert all(v > 0 for v in figures["stage_ms"].values())
    assert figures["chain_over_detector"] > 1.0  # the chain includes the detector
    assert figures["instances_per_frame"] >= 5


def test_block_costs_at_both_crop_sizes(default_cfg, vtest_frames):
    from inspire_ros import Anonymizer
    from inspire_ros.bench.chain import block_costs

    cfg = default_cfg.replace(
        categories={"person": {"large_crop_size": 128}, "car": {}}, **{"generator.type": "procedural"}
    )
    costs = block_costs(Anonymizer(cfg), vtest_frames[1], sizes=(1, 2), repeats=1)
    assert set(costs) == {"person", "person@128", "car"}  # large_crop_size is set for person only
    for rows in costs.values():
        assert set(rows) == {1, 2} and all(e > 0 and g > 0 for e, g in rows.values())
    one_size = default_cfg.replace(categories={"person": {"large_crop_size": None}, "car": {"large_crop_size": None}})
    plain = block_costs(Anonymizer(one_size), vtest_frames[1], sizes=(1,), repeats=1)
    assert set(plain) == {"person", "car"}
