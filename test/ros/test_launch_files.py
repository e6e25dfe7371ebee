"""The launch files, checked without `launch` (not installable here): they parse, and every
package, executable, params file, parameter, launch argument and remapping they name exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from inspire_ros.ros import params as P

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))
NODE_ACTIONS = {"Node", "LifecycleNode"}
# Topics the node creates with default parameters (relative names a launch file may remap).
NODE_TOPICS = {"image_raw", "image_raw/anonymized", "image_raw/anonymized/instances", "camera_info"}


def _installed_executables() -> set[str]:
    """Executables both install paths provide: pip (console_scripts) and colcon (CMake PROGRAMS)."""
    setup = (ROOT / "setup.py").read_text()
    pip = set(re.findall(r'"(\w+) = inspire_ros\.[\w.]+:\w+"', setup))
    cmake = (ROOT / "CMakeLists.txt").read_text()
    programs = re.search(r"install\(PROGRAMS ([^)]*) DESTINATION lib/\$\{PROJECT_NAME\}\)", cmake)
    colcon = {Path(p).name for p in programs.group(1).split()} if programs else set()
    for name in colcon:
        assert (ROOT / "scripts" / "ros" / name).is_file()
    return pip & colcon


def _calls(tree: ast.AST, names: set[str]) -> list[ast.Call]:
    return [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
    ]


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_value(spec: P.ParamSpec, value) -> None:
    kinds = {P.BOOL: bool, P.INT: int, P.FLOAT: (int, float), P.STR: str, P.STR_LIST: list}
    assert isinstance(value, kinds[spec.kind]), f"{spec.name}: {value!r} is not {spec.kind}"
    if spec.lo is not None:
        assert spec.lo <= value <= spec.hi, f"{spec.name}: {value} outside [{spec.lo}, {spec.hi}]"
    if spec.choices:
        assert value in spec.choices, f"{spec.name}: {value!r} not one of {spec.choices}"


def test_there_are_launch_files_for_one_and_several_cameras():
    assert {p.name for p in LAUNCH_FILES} >= {"anonymizer.launch.py", "multi_camera.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_names_only_things_that_exist(path):
    tree = ast.parse(path.read_text(), str(path))
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module.split(".")[0] in ("launch", "launch_ros"), node.module

    declared_args = {c.args[0].value for c in _calls(tree, {"DeclareLaunchArgument"})}
    used_args = {c.args[0].value for c in _calls(tree, {"LaunchConfiguration"})}
    assert used_args <= declared_args, f"undeclared launch arguments: {used_args - declared_args}"

    # Every package-relative path (FindPackageShare + parts) is a file the package installs.
    for join in _calls(tree, {"PathJoinSubstitution"}):
        parts = join.args[0].elts
        assert isinstance(parts[0], ast.Call) and parts[0].args[0].value == "inspire_ros"
        rel = Path(*[p.value for p in parts[1:]])
        assert (ROOT / rel).is_file(), f"{path.name} names {rel}, which does not exist"
        assert rel.parts[0] in ("config", "launch", "models")  # installed to share/ by CMakeLists.txt

    nodes = _calls(tree, NODE_ACTIONS)
    assert nodes
    executables = _installed_executables()
    for call in nodes:
        assert _kw(call, "package").value == "inspire_ros"
        assert _kw(call, "executable").value in executables
        for item in _kw(call, "parameters").elts:
            if isinstance(item, ast.Dict):
                for key in item.keys:
                    assert key.value in P.BY_NAME, f"{path.name} sets undeclared parameter {key.value}"
        for pair in _kw(call, "remappings").elts:
            assert pair.elts[0].value in NODE_TOPICS, f"{path.name} remaps {pair.elts[0].value}, not a node topic"


def test_shipped_params_file_sets_only_declared_parameters_with_valid_values():
    data = yaml.safe_load((ROOT / "config" / "anonymizer_node.yaml").read_text())
    values = _flatten(data["/**"]["ros__parameters"])
    assert values
    for name, value in values.items():
        assert name in P.BY_NAME, f"config/anonymizer_node.yaml sets undeclared parameter {name}"
        _check_value(P.BY_NAME[name], value)


def test_the_check_catches_an_undeclared_parameter():
    with pytest.raises(AssertionError):
        _check_value(P.BY_NAME["qos.depth"], 0)
    assert "detector.score_treshold" not in P.BY_NAME
