"""`inspire eval` small mode end to end: report.json, PNG plots and summary.md, written atomically."""

from __future__ import annotations

import json

import pytest

from inspire_ros.cli.main import EXIT_OK, EXIT_USAGE, main
from inspire_ros.eval.run import MODES

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

HEADLINE = {
    "method",
    "thwarting_pets09",
    "strongest_rank1_person",
    "strongest_rank1_car",
    "leak_rate",
    "map50",
    "count_accuracy",
    "frechet_mnv2",
    "kernel_mnv2",
    "ssim_outside",
    "product",
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    out = root / "report"
    rc = main(["eval", "--out", str(out), "--mode", "small", "--seed", "3", "--quiet"])
    return rc, root, out


def test_small_mode_writes_report_plots_and_summary(small_run):
    rc, root, out = small_run
    assert rc == EXIT_OK
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "inspire_ros.eval/1" and report["mode"] == "small" and report["seed"] == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(report["files"])
    assert [p.name for p in root.iterdir()] == ["report"]  # no temporary folder left beside it
    for name in report["files"]:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"utility_privacy.png", "bars_pets09.png", "bars_camvid.png", "summary.md"} <= set(report["files"])
    methods = list(MODES["small"].methods)
    assert list(report["methods"]) == methods
    assert [r["method"] for r in report["headline"]] == methods
    assert all(set(r) == HEADLINE for r in report["headline"])
    assert report["judge"]["input_size"] > report["pipeline_detector"]["input_size"]
    assert report["sizes"]["frames"]["pets09"] >= 2 and report["sizes"]["frames"]["camvid"] >= 2
    summary = (out / "summary.md").read_text()
    assert "| method | thwarting (PETS09 re-id)" in summary
    assert all(f"| {m} |" in summary for m in methods)


def test_small_mode_numbers_behave(small_run):
    _, _, out = small_run
    report = json.loads((out / "report.json").read_text())
    rows = {r["method"]: r for r in report["headline"]}
    none, fill = rows["none"], rows["fill"]
    # No anonymization: the judge agrees with itself, everything leaks, the strongest attacker wins.
    assert none["map50"] == 1.0 and none["count_accuracy"] == 1.0 and none["leak_rate"] == 1.0
    assert none["strongest_rank1_person"] == 1.0 and none["frechet_mnv2"] == 0.0 and none["ssim_outside"] == 1.0
    assert report["reference"]["reid_pets09_rank1_unanonymized"] == 1 - none["thwarting_pets09"]
    # Fill: far more private, far less useful; replaced instances stop leaking.
    assert fill["thwarting_pets09"] > none["thwarting_pets09"]
    assert fill["strongest_rank1_person"] < 0.5 and fill["map50"] < 0.3 and fill["leak_rate"] < none["leak_rate"]
    # Face+plate blur hides no bodies.
    assert rows["face-plate-blur"]["leak_rate"] == 1.0
    for r in rows.values():
        assert r["product"] == pytest.approx(r["thwarting_pets09"] * r["map50"], abs=1e-4)


def test_existing_output_is_kept_without_force_and_when_a_run_fails(small_run, tmp_path, capsys):
    _, _, out = small_run
    before = (out / "report.json").read_bytes()
    assert main(["eval", "--out", str(out), "--quiet"]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    missing = tmp_path / "no-shared"
    assert main(["eval", "--out", str(out), "--force", "--shared", str(missing), "--quiet"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(missing / "data" / "pets09_s2l1" / "vtest.avi") in err and "--shared" in err
    assert (out / "report.json").read_bytes() == before
    assert main(["eval", "--out", str(tmp_path / "x"), "--methods", "mosaic", "--quiet"]) == EXIT_USAGE
    assert "unknown method 'mosaic'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
