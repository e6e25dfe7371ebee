"""Blocks named in the config: the protocol check of plug-ins (Python 3.11 has no
`__protocol_attrs__`) and the built-in registry resolved the same way (issue 15)."""

import importlib
import subprocess
import sys
from typing import Protocol

import pytest

from inspire_ros import config as config_mod
from inspire_ros import plugins
from inspire_ros.config import ConfigError
from inspire_ros.detect import Detector, build_detector
from inspire_ros.extract import Extractor, build_extractor
from inspire_ros.extract.contrast import ContrastExtractor
from inspire_ros.generate import Generator, build_generator
from inspire_ros.generate.procedural import ProceduralGenerator
from inspire_ros.plugins import BUILTIN, protocol_members, resolve
from inspire_ros.svia.blocks import PROTOCOLS, Harmonizer, Inpainter, Segmenter, build_block

from support import TEST_DIR

INTERFACES = {"detector": Detector, "extractor": Extractor, "generator": Generator, **PROTOCOLS}


def test_protocol_members_reads_the_class_bodies():
    assert protocol_members(Detector) == (["detect"], ["provider"])
    assert protocol_members(Extractor) == (["extract"], [])
    assert protocol_members(Generator) == (["generate"], ["latent_dim"])
    assert protocol_members(Segmenter) == (["segment"], ["provider"])
    assert protocol_members(Inpainter) == (["inpaint"], ["provider"])
    assert protocol_members(Harmonizer) == (["harmonize"], ["provider"])


def test_protocol_members_include_the_bases_and_skip_private_names():
    class Base(Protocol):
        name: str
        _hidden: int

        def first(self) -> None: ...

        def _helper(self) -> None: ...

    class Derived(Base, Protocol):
        size: int

        def second(self) -> None: ...

        @property
        def area(self) -> int: ...

    assert protocol_members(Derived) == (["first", "second"], ["area", "name", "size"])


def test_every_built_in_resolves_through_the_registry_and_meets_its_protocol():
    for kind, names in BUILTIN.items():
        for name, spec in names.items():
            module, _, attr = spec.partition(":")
            target = getattr(importlib.import_module(module), attr)
            assert resolve(name, f"{kind}.type", names) is target
            assert resolve(spec, f"{kind}.type") is target  # the same as a plug-in naming it
            loaded = plugins.load_plugin(name, f"{kind}.type", INTERFACES[kind], names)
            if isinstance(loaded, type):  # the diffusers factories are checked once built
                methods, _ = protocol_members(INTERFACES[kind])
                assert all(callable(getattr(loaded, m)) for m in methods), (kind, name)


def test_built_in_names_are_built_with_the_uniform_signature():
    cfg = config_mod.Config()
    ecfg = config_mod.ExtractorConfig(type="contrast")
    assert type(build_extractor(ecfg, cfg, "extractor")) is ContrastExtractor
    generator = build_generator(config_mod.GeneratorConfig(type="procedural"), cfg, "generator")
    assert type(generator) is ProceduralGenerator
    for name in ("contrast", "grabcut", "detector_masks"):  # weight-free: (block, cfg) and (block)
        cls = resolve(name, "extractor.type", BUILTIN["extractor"])
        block = config_mod.ExtractorConfig(type=name)
        assert type(cls(block, cfg)) is type(cls(block)) is cls


def test_an_unknown_built_in_name_lists_the_built_ins():
    ecfg = config_mod.ExtractorConfig(type="magic")
    with pytest.raises(ConfigError, match=r"'categories.person.extractor.type': unknown type 'magic' \(one of unet, "):
        build_extractor(ecfg, config_mod.Config(), "categories.person.extractor")
    with pytest.raises(ConfigError, match="'detector.backend': cannot import 'plugins:Nothing'"):
        build_detector(config_mod.from_dict({"detector": {"backend": "plugins:Nothing"}}))


def test_the_config_validator_takes_the_scene_block_names_from_the_registry():
    assert tuple(BUILTIN["segmenter"]) == ("onnx",)
    with pytest.raises(ConfigError, match="'svia.segmenter.type': must be onnx or a plug-in"):
        config_mod.from_dict({"svia": {"segmenter": {"type": "diffusers"}}})
    with pytest.raises(ConfigError, match="'svia.harmonizer.type': must be onnx or diffusers or a plug-in"):
        config_mod.from_dict({"svia": {"harmonizer": {"type": "magic"}}})


@pytest.mark.parametrize(
    "build, plugin, key, lacks, interface",
    [
        ("detector", "NoDetectMethod", "detector.backend", "detect", "Detector"),
        ("detector", "NoProvider", "detector.backend", "provider", "Detector"),
        ("extractor", "NoExtractMethod", "categories.person.extractor.type", "extract", "Extractor"),
        ("generator", "NoGenerateMethod", "generator.type", "generate", "Generator"),
        ("generator", "NoLatentDim", "categories.car.generator.type", "latent_dim", "Generator"),
        ("segmenter", "NoSegmentMethod", "svia.segmenter.type", "segment", "Segmenter"),
    ],
)
def test_a_plugin_missing_a_member_is_refused_naming_the_key_and_the_member(build, plugin, key, lacks, interface):
    spec = f"plugins:{plugin}"
    cfg = config_mod.Config()
    with pytest.raises(ConfigError, match=f"config key '{key}': {spec} lacks {lacks} of {interface}"):
        if build == "detector":
            build_detector(config_mod.from_dict({"detector": {"backend": spec}}))
        elif build == "extractor":
            build_extractor(config_mod.ExtractorConfig(type=spec), cfg, key.removesuffix(".type"))
        elif build == "generator":
            build_generator(config_mod.GeneratorConfig(type=spec), cfg, key.removesuffix(".type"))
        else:
            build_block("segmenter", config_mod.from_dict({"svia": {"segmenter": {"type": spec}}}))


def test_complete_plugins_still_load():
    cfg = config_mod.Config()
    detector = build_detector(config_mod.from_dict({"detector": {"backend": "plugins:EmptyDetector"}}))
    assert type(detector).__name__ == "EmptyDetector" and detector.provider == "test"
    generator = build_generator(config_mod.GeneratorConfig(type="plugins:FlakyGenerator"), cfg, "generator")
    assert type(generator).__name__ == "FlakyGenerator" and generator.latent_dim == 16
    # A factory function is built with the same arguments and checked once built.
    made = build_generator(config_mod.GeneratorConfig(type="plugins:procedural_factory"), cfg, "generator")
    assert type(made) is ProceduralGenerator


def test_choosing_a_block_imports_only_that_block():
    code = (
        "import sys\n"
        "from inspire_ros import config\n"
        "from inspire_ros.extract import build_extractor\n"
        "from inspire_ros.generate import build_generator\n"
        "cfg = config.Config()\n"
        "build_extractor(config.ExtractorConfig(type='contrast'), cfg, 'extractor')\n"
        "build_generator(config.GeneratorConfig(type='procedural'), cfg, 'generator')\n"
        "unused = {'inspire_ros.extract.unet', 'inspire_ros.extract.grabcut', 'inspire_ros.generate.gan',\n"
        "          'inspire_ros.detect.ultralytics', 'inspire_ros.svia.diffusion', 'ultralytics', 'torch'}\n"
        "assert not unused & set(sys.modules), sorted(unused & set(sys.modules))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=TEST_DIR.parent)
