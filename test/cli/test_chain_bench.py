import json

from inspire_ros.cli.main import main


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
