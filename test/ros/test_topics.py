"""Topic naming and the parameter table (no ROS graph needed)."""

import pytest

from inspire_ros import config as config_mod
from inspire_ros.ros import params as P
from inspire_ros.ros.topics import TransportError, camera_info_topic, camera_topics, output_topic


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


def _resolver(namespace: str, rules: list[tuple[str, str]]):
    def expand(name):
        return name if name.startswith("/") else f"{namespace}/{name}"

    def resolve(name, only_expand):
        full = expand(name)
        return next((expand(b) for a, b in rules if expand(a) == full and not only_expand), full)

    return resolve


def test_sibling_topics_follow_the_remapped_input():
    (cam,) = camera_topics(["image_raw"], [], [], "anonymized", _resolver("/cam", [("image_raw", "color/image_raw")]))
    assert (cam.resolved, cam.camera_info_in) == ("/cam/color/image_raw", "/cam/color/camera_info")
    assert (cam.output, cam.instances, cam.camera_info_out) == (
        "/cam/color/image_raw/anonymized",
        "/cam/color/image_raw/anonymized/instances",
        "/cam/color/image_raw/camera_info",
    )
    # A derived topic remapped by the name it has without remapping keeps that remapping.
    rules = [("image_raw", "color/image_raw"), ("image_raw/anonymized", "private/image"), ("camera_info", "/info")]
    (cam,) = camera_topics(["image_raw"], [], [], "anonymized", _resolver("/cam", rules))
    assert (cam.output, cam.instances, cam.camera_info_out, cam.camera_info_in) == (
        "/cam/private/image",
        "/cam/private/image/instances",
        "/cam/private/camera_info",
        "/info",
    )


@pytest.mark.parametrize("transport", ["zstd", "theora", "ffmpeg", "h264", "foxglove"])
def test_transports_follow_image_transport_names_and_undecodable_ones_are_refused(transport):
    assert output_topic(f"cam/image_raw/{transport}", "anonymized") == f"cam/image_raw/anonymized/{transport}"
    assert camera_info_topic(f"cam/image_raw/{transport}") == "cam/camera_info"
    with pytest.raises(TransportError) as e:
        camera_topics([f"image_raw/{transport}"], [], [], "anonymized", _resolver("/cam", []))
    assert f"/cam/image_raw/{transport}" in str(e.value) and f"'{transport}'" in str(e.value)
    assert f"ros2 run image_transport republish {transport} raw --ros-args -r in/{transport}:=" in str(e.value)
    # A remapping onto such a topic is refused too: the rule is on the resolved name.
    with pytest.raises(TransportError):
        camera_topics(["image_raw"], [], [], "anonymized", _resolver("/cam", [("image_raw", f"image_raw/{transport}")]))


def test_compressed_depth_is_refused_as_depth():
    with pytest.raises(TransportError, match="depth topics are not anonymized by the node"):
        camera_topics(["depth/image_raw/compressedDepth"], [], [], "anonymized")


def test_an_output_whose_camera_info_would_be_the_input_is_refused():
    with pytest.raises(ValueError, match="'outputs'.*camera_info"):
        camera_topics(["cam/image_raw"], ["cam/anonymized"], [], "anonymized")
    with pytest.raises(ValueError, match="'outputs'"):  # raw and compressed onto one output
        camera_topics(["a/image_raw", "a/image_raw/compressed"], ["x/out", "x/out"], [], "anonymized")
