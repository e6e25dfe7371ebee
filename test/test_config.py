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
