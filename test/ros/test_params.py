"""Node parameter ranges: config-backed ones are derived from the config fields (declared once),
come out as they were when they were written by hand, and refuse exactly what the validator does.
No ROS graph needed."""

import math

import pytest

from inspire_ros import config as config_mod
from inspire_ros.ros import params as P

# The table as it was written out by hand in ros/params.py before the ranges were derived:
# name -> (lo, hi, step, choices). Every parameter not listed has no range and no choices.
BEFORE = {
    "qos.reliability": (None, None, 0, ("best_effort", "reliable")),
    "qos.output_reliability": (None, None, 0, ("best_effort", "reliable")),
    "qos.depth": (1, 100, 1, ()),
    "diagnostics_period": (0.1, 60.0, 0, ()),
    "diagnostics.min_rate": (0.0, 1e4, 0, ()),
    "diagnostics.max_rate": (0.0, 1e4, 0, ()),
    "diagnostics.rate_tolerance": (0.0, 1.0, 0, ()),
    "diagnostics.window_size": (1, 100, 1, ()),
    "diagnostics.max_stamp_delay": (0.0, 1e6, 0, ()),
    "diagnostics.min_stamp_delay": (-1e6, 0.0, 0, ()),
    "runtime.threads": (1, 256, 1, ()),
    "method": (None, None, 0, ("inspire", "blur", "pixelate", "fill", "svia", "hybrid")),
    "on_error": (None, None, 0, ("blank", "drop")),
    "max_frame_pixels": (1, 2**40, 1, ()),
    "detector.score_threshold": (0.0, 1.0, 0, ()),
    "detector.nms_threshold": (0.0, 1.0, 0, ()),
    "extractor.edges.kernel_size": (1, 99, 2, ()),
    "extractor.edges.sigma": (0.0, 100.0, 0, ()),
    "extractor.edges.low": (0, 1000, 1, ()),
    "extractor.edges.high": (0, 1000, 1, ()),
    "jpeg_quality": (1, 100, 1, ()),
}
DESCRIPTIONS = {
    "method": "inspire | blur | pixelate | fill | svia | hybrid",
    "runtime.providers": "onnxruntime providers in preference order: tensorrt, cuda, cpu",
}

CONFIG_BACKED = [s for s in P.PARAMS if s.config_key]


@pytest.mark.parametrize("spec", P.PARAMS, ids=lambda s: s.name)
def test_derived_table_is_the_one_written_by_hand(spec):
    got = (spec.lo, spec.hi, spec.step, spec.choices)
    want = BEFORE.get(spec.name, (None, None, 0, ()))
    assert got == want
    # The ROS descriptor takes floats for FloatingPointRange and ints for IntegerRange.
    kind = {P.FLOAT: float, P.INT: int}.get(spec.kind)
    if spec.lo is not None:
        assert type(spec.lo) is kind and type(spec.hi) is kind, spec.name
    if spec.name in DESCRIPTIONS:
        assert spec.description == DESCRIPTIONS[spec.name]


@pytest.mark.parametrize("spec", CONFIG_BACKED, ids=lambda s: s.name)
def test_config_backed_range_is_the_config_fields(spec):
    lo, hi, odd, choices = config_mod.field_constraints(spec.config_key)
    assert (spec.lo, spec.hi, spec.choices) == (lo, hi, choices)
    assert spec.step == (0 if lo is None or spec.kind == P.FLOAT else 2 if odd else 1)


def _cfg(name: str, value) -> config_mod.Config:
    # A base where each value alone decides: edges.low may reach edges.high's whole range and the
    # reverse, and a high score threshold is not refused as reduced protection.
    base = config_mod.from_dict({"allow_reduced_protection": True, "extractor": {"edges": {"low": 0, "high": 1000}}})
    return base.replace(**P.config_overrides({name: value}))


def _refused(name: str, value) -> bool:
    try:
        _cfg(name, value)
    except config_mod.ConfigError as e:
        assert name in str(e)
        return True
    return False


def _node_accepts(spec: P.ParamSpec, value) -> bool:
    """What the node's descriptor (range, step from lo) and its choices check let through."""
    if spec.choices:
        return value in spec.choices
    if spec.lo is None:
        return True
    if not spec.lo <= value <= spec.hi:
        return False
    return spec.kind != P.INT or (value - spec.lo) % spec.step == 0


@pytest.mark.parametrize("spec", [s for s in CONFIG_BACKED if s.lo is not None or s.choices], ids=lambda s: s.name)
def test_validator_refuses_exactly_what_the_node_refuses(spec):
    if spec.choices:
        probes = [*spec.choices, "bogus", spec.choices[0].upper()]
    elif spec.kind == P.FLOAT:
        probes = [spec.lo, spec.hi, (spec.lo + spec.hi) / 2]
        probes += [math.nextafter(spec.lo, -math.inf), math.nextafter(spec.hi, math.inf), spec.lo - 1, spec.hi + 1]
    else:
        probes = [spec.lo, spec.hi, spec.lo + 1, spec.lo + 2, spec.hi - 1, spec.lo - 1, spec.hi + 1, spec.hi + 2]
    for value in probes:
        assert _refused(spec.name, value) == (not _node_accepts(spec, value)), (spec.name, value)


def test_a_config_backed_spec_may_not_restate_its_range():
    with pytest.raises(ValueError, match="come from config key"):
        P.ParamSpec("runtime.threads", P.INT, "x", config_key="runtime.threads", lo=1, hi=256, step=1)
