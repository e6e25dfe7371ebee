import dataclasses
import os
import time
import types
import typing

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        ({"categories": {"person": {"large_crop_size": 64}}}, "categories.person.large_crop_size"),
        ({"categories": {"car": {"crop_size": 96, "large_crop_size": 64}}}, "categories.car.large_crop_size"),
        ({"categories": {"person": {"large_crop_size": 2048}}}, "categories.person.large_crop_size"),
        ({"categories": {"person": {"max_upscale": 0.5}}}, "categories.person.max_upscale"),
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


def test_default_config_generates_large_instances_at_128():
    """The shipped generator serves both crop sizes: near people and cars (longer box side above
    128 px) are generated at 128, not upscaled from 64."""
    from inspire_ros.paths import default_config_path

    cfg = config_mod.load(default_config_path())
    for cat in ("person", "car"):
        c = cfg.categories[cat]
        assert (c.crop_size, c.large_crop_size, c.max_upscale) == (64, 128, 2.0)


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


@pytest.mark.usefixtures("shared")
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


# --- config files that are not configs (issue 13) -------------------------------------------


def _billion_laughs(use: str) -> str:
    levels = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "extractor:\n  params:\n" + "".join(f"    {line}\n" for line in levels) + use


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a YAML text file"),
        (b"method: inspire\x00\n", "not a YAML text file"),
        (_billion_laughs("method: *l9").encode(), "aliases"),  # used to hang, RSS climbing
        (_billion_laughs("").encode(), "aliases"),  # used to load, and hang the first replace()
        (b"extractor:\n  params: &a {x: *a}\n", "'extractor.params.x': an alias refers to a value that contains it"),
        (b"x: " + b"[" * 100 + b"]" * 100, "nested more than"),
        (b"# " + b"x" * 300_000 + b"\n", "larger than 256 KiB"),
        (b"extractor:\n  params: {a: [" + b"1, " * 30_000 + b"1]}\n", "values"),
        (b"seed: 0x" + b"f" * 5000 + b"\n", "integer of more than"),
        (b"seed: " + b"9" * 5000 + b"\n", "cannot represent"),
        (b"seed: 2001-13-45\n", "cannot represent"),
        (
            b"detector:\n  score_threshold: 0.3\n  model: x\n  score_threshold: 0.9\n",
            "'detector.score_threshold': given twice (lines 2 and 4)",
        ),
        (b"method: blur\nmethod: inspire\n", "'method': given twice"),
        (b"categories: {person: {}, person: {crop_size: 32}}\n", "'categories.person': given twice"),
        (b"method: [inspire\n", "not valid YAML: while parsing a flow sequence"),
        (b"!!python/object/apply:os.system [echo hi]\n", "not valid YAML"),
        (b"seed: -1\n", "'seed': must be in [0,"),
    ],
)
def test_files_that_are_not_configs_are_refused_at_once_in_one_line(tmp_path, content, expect):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    start = time.monotonic()
    with pytest.raises(ConfigError) as e:
        config_mod.load(path)
    assert time.monotonic() - start < 5
    message = str(e.value)
    assert str(path) in message and expect in message and "\n" not in message


def test_paths_that_are_not_config_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it would block until someone writes
    (tmp_path / "dir.yaml").mkdir()
    for name, expect in [
        ("pipe.yaml", "not a regular file"),
        ("dir.yaml", "is a directory"),
        ("no.yaml", "cannot read"),
    ]:
        with pytest.raises(ConfigError, match=expect) as e:
            config_mod.load(tmp_path / name)
        assert str(tmp_path / name) in str(e.value)


def test_anchors_aliases_and_merge_keys_still_work(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "extractor: {edges: &edges {low: 10, high: 20}}\n"
        "categories:\n"
        "  person: &cat {crop_size: 48}\n"
        "  car: *cat\n"
        "  bus: {extractor: {edges: {<<: *edges, high: 30}}}\n"
    )
    cfg = config_mod.load(path)
    assert cfg.categories["car"].crop_size == cfg.categories["person"].crop_size == 48
    assert (cfg.extractor_for("bus").edges.low, cfg.extractor_for("bus").edges.high) == (10, 30)


# --- fuzz: anything in, a Config or a ConfigError naming a key or the file out ---------------

FUZZ = settings(
    derandomize=True,
    database=None,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_WORDS = sorted(
    {
        f.name
        for cls in (config_mod.Config, config_mod.DetectorConfig, config_mod.ExtractorConfig)
        for f in dataclasses.fields(cls)
    }
    | {"edges", "tiles", "person", "car", "kernel_size", "low", "high", "crop_size", "providers", "bogus", "<<"}
)
_SCALARS = [
    "0",
    "-1",
    "0.3",
    "1.5",
    "1e400",
    ".nan",
    "-.inf",
    "~",
    "yes",
    "'x'",
    '"\\x00"',
    "[]",
    "{}",
    "[1, [2, {a: 3}]]",
    "{a: 1, a: 2}",
    "&a [1]",
    "*a",
    "*nope",
    "&b {x: *b}",
    "!!binary AAAA",
    "!!str 1",
    "!!python/name:os.system",
    "2001-13-45",
    "0x" + "f" * 80,
    "inspire",
    "live",
    "thorough",
    "blur",
    "cpu",
    "per_track",
    "drop",
    "|\n  text",
]
_yamlish = st.lists(
    st.tuples(
        st.sampled_from(["", "  ", "    ", "- ", "? "]),
        st.sampled_from(_WORDS) | st.text(max_size=6),
        st.sampled_from(_SCALARS),
    ),
    max_size=12,
).map(lambda lines: "".join(f"{indent}{key}: {value}\n" for indent, key, value in lines))


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"


def _load_or_refuse(path, data: bytes, preset=None):
    path.write_bytes(data)
    try:
        cfg = config_mod.load(path, preset=preset)
    except ConfigError as e:
        assert str(path) in str(e) and "\n" not in str(e), str(e)
        return None
    assert isinstance(cfg, config_mod.Config)
    return cfg


@FUZZ
@given(text=_yamlish | st.text(max_size=200), preset=st.sampled_from([None, "live", "thorough", "none"]))
def test_fuzz_yaml_like_text(fuzz_file, text, preset):
    _load_or_refuse(fuzz_file, text.encode("utf-8", "surrogatepass"), preset)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_bytes(fuzz_file, data):
    _load_or_refuse(fuzz_file, data)


_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["inspire", "fill", "live", "thorough", "cpu", "cuda", "person", "car", "per_track", "drop"])
)
_any = st.recursive(
    _leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8
)


def _guided(cls) -> st.SearchStrategy:
    """Dicts shaped like `cls` (its keys, nested sections), any values at the leaves."""
    hints = typing.get_type_hints(cls)

    def value(tp):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = inner[0] if typing.get_origin(tp) in (typing.Union, types.UnionType) else tp
        if dataclasses.is_dataclass(tp):
            return st.deferred(lambda: _guided(tp)) | _any
        if typing.get_origin(tp) is dict and typing.get_args(tp) and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            names = st.sampled_from(["person", "car", "bus", "pedestrian"]) | st.text(max_size=4)
            return st.dictionaries(names, st.deferred(lambda: _guided(typing.get_args(tp)[1])), max_size=3) | _any
        return _any

    optional = {f.name: value(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries({}, optional=optional) | st.fixed_dictionaries(
        {}, optional={**optional, "bogus": _any}
    )


@FUZZ
@given(data=_guided(config_mod.Config) | _any, preset=st.sampled_from([None, "live", "thorough", "none"]))
def test_fuzz_nested_dicts(fuzz_file, data, preset):
    try:
        cfg = config_mod.from_dict(data, preset)
    except ConfigError as e:
        assert "config key '" in str(e) and "\n" not in str(e), str(e)
    else:
        assert config_mod.from_dict(config_mod.to_dict(cfg)) == cfg  # what validates, round-trips
    _load_or_refuse(fuzz_file, yaml.safe_dump(data).encode(), preset)


@pytest.mark.parametrize("plugin, lacks", [("NoDetectMethod", "detect"), ("NoProvider", "provider")])
def test_plugins_are_checked_against_their_block_protocol(plugin, lacks):
    from inspire_ros.pipeline import Anonymizer

    cfg = config_mod.from_dict({"detector": {"backend": f"plugins:{plugin}"}})
    with pytest.raises(ConfigError, match=f"'detector.backend'.*lacks {lacks} of Detector"):
        Anonymizer(cfg)


def test_default_config_uses_the_learned_blocks(default_cfg):
    assert default_cfg.extractor.type == "unet" and default_cfg.generator.type == "gan"
