import pytest

from inspire_ros import config as config_mod
from inspire_ros.config import ConfigError


def test_default_yaml_matches_builtin_defaults(default_cfg):
    assert default_cfg == config_mod.from_dict({})
    assert set(default_cfg.categories) == {"person", "car"}
    assert default_cfg.method == "inspire"


@pytest.mark.parametrize(
    "data, key",
    [
        ({"detectr": {}}, "detectr"),
        ({"detector": {"score_treshold": 0.2}}, "detector.score_treshold"),
        ({"detector": {"score_threshold": 1.5}}, "detector.score_threshold"),
        ({"detector": {"score_threshold": "high"}}, "detector.score_threshold"),
        ({"method": "smudge"}, "method"),
        ({"categories": {"pedestrian": {}}}, "categories.pedestrian"),
        ({"categories": {"person": {"crop_size": 4}}}, "categories.person.crop_size"),
        ({"extractor": {"edges": {"kernel_size": 4}}}, "extractor.edges.kernel_size"),
        ({"extractor": {"edges": {"low": 200, "high": 100}}}, "extractor.edges.low"),
        ({"runtime": {"providers": ["gpu"]}}, "runtime.providers[0]"),
        ({"baselines": {"fill": {"color": [1, 2]}}}, "baselines.fill.color"),
        ({"seed": True}, "seed"),
        ({"seed": -1}, "seed"),
        ({"detector": {"score_threshold": float("nan")}}, "detector.score_threshold"),
        ({"detector": {"nms_threshold": float("inf")}}, "detector.nms_threshold"),
        ({"tracking": {"grow": float("-inf")}}, "tracking.grow"),
        ({"tracking": {"coast_frames": -1}}, "tracking.coast_frames"),
        ({"detector": {"tiles": {"overlap": 0.9}}}, "detector.tiles.overlap"),
        ({"lookahead": {"extend": 3}}, "lookahead.extend"),
        ({"preset": "fast"}, "preset"),
        ({"generator": {"latents": "per_person"}}, "generator.latents"),
    ],
)
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_mod.from_dict(data)
    assert f"'{key}'" in str(e.value)


def test_load_file_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("generator:\n  typo: 1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*'generator\.typo'"):
        config_mod.load(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("method: [inspire\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_mod.load(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        config_mod.load(tmp_path / "missing.yaml")


def test_per_category_override_and_replace(default_cfg):
    cfg = config_mod.from_dict({"categories": {"person": {"generator": {"latent_dim": 32}}, "bus": {}}})
    assert cfg.generator_for("person").latent_dim == 32
    assert cfg.generator_for("bus") == cfg.generator
    changed = default_cfg.replace(**{"method": "blur", "detector.score_threshold": 0.5})
    assert (changed.method, changed.detector.score_threshold) == ("blur", 0.5)
    with pytest.raises(ConfigError, match="'detector.nope'"):
        default_cfg.replace(**{"detector.nope": 1})


def test_block_params_name_the_unknown_key(default_cfg):
    from inspire_ros import Anonymizer

    cfg = default_cfg.replace(**{"extractor.params": {"tua": 3}})
    with pytest.raises(ConfigError, match="'extractor.params.tua'"):
        Anonymizer(cfg)


def test_presets_fill_what_the_file_leaves_out(tmp_path):
    live = config_mod.load(None, preset="live")
    thorough = config_mod.load(None, preset="thorough")
    assert live.preset == "live" and live.tracking.enabled and not live.lookahead.enabled
    assert not live.detector.tiles.enabled and live.detector.fit_frame
    assert thorough.detector.tiles.enabled and thorough.tracking.enabled and thorough.lookahead.enabled
    assert config_mod.load(None).preset is None and not config_mod.load(None).tracking.enabled
    # The file's own preset wins over the tool's; keys the file sets win over the preset.
    f = tmp_path / "c.yaml"
    f.write_text("preset: live\ndetector: {input_size: 320}\ntracking: {coast_frames: 2}\n")
    cfg = config_mod.load(f, preset="thorough")
    assert cfg.preset == "live" and cfg.detector.input_size == 320 and cfg.tracking.coast_frames == 2
    assert cfg.tracking.enabled and not cfg.detector.tiles.enabled
    # A resolved config round-trips (replace re-validates from its own dict).
    assert cfg.replace(method="fill").detector == cfg.detector
    for name in ("config/default.yaml", "config/weight_free.yaml"):
        for preset in config_mod.PRESETS:
            config_mod.load(name, preset=preset)


@pytest.mark.parametrize(
    "data, key",
    [
        ({"detector": {"score_threshold": 0.8}}, "detector.score_threshold"),
        ({"categories": {"car": {}}}, "categories"),
    ],
)
def test_switching_protection_off_needs_an_explicit_opt_out(data, key, caplog):
    with pytest.raises(ConfigError, match="allow_reduced_protection") as e:
        config_mod.from_dict(data)
    assert f"'{key}'" in str(e.value)
    cfg = config_mod.from_dict({**data, "allow_reduced_protection": True})
    assert config_mod.reductions(cfg)  # and it is said: logs, audits, reports, diagnostics carry it
