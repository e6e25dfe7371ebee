"""Topic naming and the parameter table (no ROS graph needed)."""

import pytest

from inspire_ros import config as config_mod
from inspire_ros.ros import params as P
from inspire_ros.ros.topics import camera_topics


def test_default_output_names_follow_image_transport():
    raw, jpeg = camera_topics(["front/image_raw", "rear/image_raw/compressed"], [], [], "anonymized")
    assert (raw.output, raw.kind) == ("front/image_raw/anonymized", "auto")
    assert raw.instances == "front/image_raw/anonymized/instances"
    assert (raw.camera_info_in, raw.camera_info_out) == ("front/camera_info", "front/image_raw/camera_info")
    # A compressed transport topic keeps `compressed` last, so `<base>/anonymized` is its base topic.
    assert (jpeg.output, jpeg.kind) == ("rear/image_raw/anonymized/compressed", "compressed")
    assert jpeg.instances == "rear/image_raw/anonymized/instances"
    assert (jpeg.camera_info_in, jpeg.camera_info_out) == ("rear/camera_info", "rear/image_raw/camera_info")


@pytest.mark.parametrize(
    "inputs, outputs, kinds, suffix, bad",
    [
        ([], [], [], "anonymized", "cameras"),
        (["a", "a"], [], [], "anonymized", "cameras"),
        (["a", "b"], ["x"], [], "anonymized", "outputs"),
        (["a"], ["a"], [], "anonymized", "outputs"),
        (["a"], [], ["jpeg"], "anonymized", "input_types"),
        (["a", "b", "c"], [], ["raw", "raw"], "anonymized", "input_types"),
        (["a"], [], [], "/", "output_suffix"),
    ],
)
def test_bad_camera_parameters_name_the_parameter(inputs, outputs, kinds, suffix, bad):
    with pytest.raises(ValueError, match=f"'{bad}'"):
        camera_topics(inputs, outputs, kinds, suffix)


def test_config_backed_parameters_map_onto_real_config_keys(default_cfg):
    for spec in P.PARAMS:
        if spec.config_key:
            default = spec.default_from(default_cfg)  # raises AttributeError for a stale key
            cfg = default_cfg.replace(**P.config_overrides({spec.name: default}))
            assert cfg == default_cfg, spec.name
    model = P.BY_NAME["extractor.model"]
    assert model.default_from(default_cfg.replace(**{"extractor.model": None})) == ""  # "" = no file
    assert model.to_config("") is None


def test_live_parameter_ranges_match_the_config_validator(default_cfg):
    spec = P.BY_NAME["extractor.edges.kernel_size"]
    assert (spec.lo, spec.hi, spec.step) == (1, 99, 2)
    with pytest.raises(config_mod.ConfigError, match="extractor.edges.kernel_size"):
        default_cfg.replace(**P.config_overrides({spec.name: 4}))
