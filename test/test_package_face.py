"""The package face is lazy: importing inspire_ros (or the node's parameter table, which launch
files read) loads neither the pipeline nor OpenCV, onnxruntime or numpy, while every public name
still imports from the package."""

import subprocess
import sys

import pytest

import inspire_ros

HEAVY = ("cv2", "onnxruntime", "numpy", "inspire_ros.pipeline")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("statement", ["import inspire_ros", "import inspire_ros.ros.params"])
def test_importing_the_package_loads_nothing_heavy(statement):
    assert _loaded_after(statement) == []


def test_the_public_names_still_import_from_the_package():
    assert "cv2" in _loaded_after("from inspire_ros import Anonymizer")
    from inspire_ros import Anonymizer, Box, Config, ConfigError, Detection, Instance, ModelError, __version__
    from inspire_ros.config import Config as Config_
    from inspire_ros.errors import ConfigError as ConfigError_
    from inspire_ros.model_store import ModelError as ModelError_
    from inspire_ros.pipeline import Anonymizer as Anonymizer_
    from inspire_ros.types import Box as Box_
    from inspire_ros.types import Detection as Detection_
    from inspire_ros.types import Instance as Instance_

    assert (Anonymizer, Box, Config, ConfigError, Detection, Instance, ModelError) == (
        Anonymizer_,
        Box_,
        Config_,
        ConfigError_,
        Detection_,
        Instance_,
        ModelError_,
    )
    assert __version__ == "0.1.0"
    assert set(inspire_ros.__all__) <= set(dir(inspire_ros))
    for name in inspire_ros.__all__:
        assert getattr(inspire_ros, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        inspire_ros.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        from inspire_ros import no_such_name  # noqa: F401
