"""The launch files, checked without `launch` (not installable here): they parse, and every
package, executable, params file, parameter, launch argument and remapping they name (they or
the package's launch helpers they import) exists; run against a stand-in for `launch` (below),
they give the node the topics a user expects."""

from __future__ import annotations

import ast
import importlib.util
import posixpath
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from inspire_ros.ros import params as P
from inspire_ros.ros import topics

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))
# The package's module the launch files share (itself imports only launch and launch_ros).
LAUNCH_HELPERS = {"inspire_ros.ros.launch_common"}
NODE_ACTIONS = {"Node", "LifecycleNode"}
ROS_PARAMS = {"use_sim_time"}  # declared by every rclpy node, not in the node's table
LIFECYCLE_ARGS = {"autostart", "use_sim_time", "log_level"}
# Topics the node creates with default parameters (relative names a launch file may remap).
NODE_TOPICS = {
    "image_raw",
    "image_raw/anonymized",
    "image_raw/anonymized/instances",
    "image_raw/camera_info",
    "camera_info",
}


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


def _tree(path: Path) -> ast.Module:
    """The launch file's syntax tree with those of the package helpers it imports."""
    tree = ast.parse(path.read_text(), str(path))
    helpers = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module in LAUNCH_HELPERS}
    for module in sorted(helpers):
        helper = ROOT / (module.replace(".", "/") + ".py")
        tree.body += ast.parse(helper.read_text(), str(helper)).body
    return tree


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
    tree = _tree(path)
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            assert node.module.split(".")[0] in ("launch", "launch_ros") or node.module in LAUNCH_HELPERS, node.module

    declared_args = {c.args[0].value for c in _calls(tree, {"DeclareLaunchArgument"})}
    # LaunchConfiguration("x"), and helpers reading one by name: flag(context, "x")
    calls = _calls(tree, {"LaunchConfiguration", "flag", "_relative"})
    used_args = {a.value for c in calls for a in c.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    assert used_args >= LIFECYCLE_ARGS | {"params_file", "config_file", "image"}
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
                    assert key.value in P.BY_NAME or key.value in ROS_PARAMS, (
                        f"{path.name} sets undeclared parameter {key.value}"
                    )
    for node in _launched_nodes(path, {"namespace": "front", "cameras": "front", "output": "out"}):
        for source, _ in node["remappings"]:
            assert source in NODE_TOPICS, f"{path.name} remaps {source}, not a node topic"


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


# --- the launch files run against a stand-in for `launch` ----------------------------------------


class _Sub:
    """LaunchConfiguration / PathJoinSubstitution / FindPackageShare: perform(context) -> str."""

    def __init__(self, perform):
        self._perform = perform

    def perform(self, context) -> str:
        return self._perform(context)


def _text(value, context) -> str:
    if isinstance(value, _Sub):
        return value.perform(context)
    if isinstance(value, list):
        return "".join(_text(v, context) for v in value)
    return str(value)


def _fake_launch() -> dict[str, types.ModuleType]:
    class LaunchDescription(list):
        pass

    class DeclareLaunchArgument:
        def __init__(self, name, default_value="", description=""):
            self.name, self.default = name, default_value

    class OpaqueFunction:
        def __init__(self, function):
            self.function = function

    class LifecycleNode(dict):
        def __init__(self, **kwargs):
            super().__init__(kwargs)

    mods = {name: types.ModuleType(name) for name in ("launch", "launch.actions", "launch.substitutions")}
    mods |= {name: types.ModuleType(name) for name in ("launch_ros", "launch_ros.actions", "launch_ros.substitutions")}
    mods["launch"].LaunchDescription = LaunchDescription
    mods["launch.actions"].DeclareLaunchArgument = DeclareLaunchArgument
    mods["launch.actions"].OpaqueFunction = OpaqueFunction
    mods["launch.substitutions"].LaunchConfiguration = lambda name: _Sub(lambda ctx: ctx[name])
    mods["launch.substitutions"].PathJoinSubstitution = lambda parts: _Sub(
        lambda ctx: posixpath.join(*(_text(p, ctx) for p in parts))
    )
    mods["launch_ros.actions"].LifecycleNode = LifecycleNode
    mods["launch_ros.actions"].Node = LifecycleNode
    mods["launch_ros.substitutions"].FindPackageShare = lambda pkg: _Sub(lambda ctx: f"/share/{pkg}")
    return mods


def _launched_nodes(path: Path, args: dict[str, str]) -> list[dict]:
    """The nodes `path` launches with launch arguments `args` (the others at their defaults):
    package, executable, namespace, remappings as (from, to) strings."""
    # The helpers are imported afresh, against the stand-in, and dropped again after.
    saved = {name: sys.modules.get(name) for name in (*_fake_launch(), *LAUNCH_HELPERS)}
    sys.modules.update(_fake_launch())
    for name in LAUNCH_HELPERS:
        sys.modules.pop(name, None)
    try:
        spec = importlib.util.spec_from_file_location(f"_launch_{path.stem.replace('.', '_')}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        actions = module.generate_launch_description()
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    context: dict[str, str] = {}
    for action in actions:
        if hasattr(action, "default"):
            context[action.name] = args.get(action.name, _text(action.default, context))
    nodes, pending = [], list(actions)
    while pending:
        action = pending.pop(0)
        if hasattr(action, "function"):
            pending[:0] = action.function(context)
        elif isinstance(action, dict):
            nodes.append(
                {
                    "package": action["package"],
                    "executable": action["executable"],
                    "namespace": _text(action.get("namespace", ""), context),
                    "remappings": [(_text(a, context), _text(b, context)) for a, b in action.get("remappings", [])],
                    "autostart": action.get("autostart", False),
                    "parameters": [
                        {k: v if isinstance(v, bool) else _text(v, context) for k, v in p.items()}
                        if isinstance(p, dict)
                        else _text(p, context)
                        for p in action.get("parameters", [])
                    ],
                    "ros_arguments": [_text(a, context) for a in action.get("ros_arguments", [])],
                }
            )
    return nodes


def _rcl_resolver(namespace: str, remappings: list[tuple[str, str]]) -> topics.Resolver:
    """rcl's rules for a node's topic names: relative names go under the namespace; the first
    rule whose (expanded) source equals the expanded name replaces it, unless only_expand."""
    ns = "/" + namespace.strip("/")

    def expand(name: str) -> str:
        return name if name.startswith("/") else posixpath.join(ns, name)

    def resolve(name: str, only_expand: bool) -> str:
        full = expand(name)
        if not only_expand:
            for source, target in remappings:
                if expand(source) == full:
                    return expand(target)
        return full

    return resolve


def _node_topics(node: dict) -> topics.CameraTopics:
    """The topics the node gets with the shipped params file (cameras: [image_raw])."""
    params = yaml.safe_load((ROOT / "config" / "anonymizer_node.yaml").read_text())["/**"]["ros__parameters"]
    resolve = _rcl_resolver(node["namespace"], node["remappings"])
    (cam,) = topics.camera_topics(
        params["cameras"], params.get("outputs", []), params["input_types"], params["output_suffix"], resolve
    )
    return cam


def _names(cam: topics.CameraTopics) -> tuple[str, ...]:
    return (cam.resolved, cam.camera_info_in, cam.output, cam.instances, cam.camera_info_out)


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            {"namespace": "front"},
            (
                "/front/image_raw",
                "/front/camera_info",
                "/front/image_raw/anonymized",
                "/front/image_raw/anonymized/instances",
                "/front/image_raw/camera_info",
            ),
        ),
        (
            {"namespace": "cam", "image": "color/image_raw"},
            (
                "/cam/color/image_raw",
                "/cam/color/camera_info",
                "/cam/color/image_raw/anonymized",
                "/cam/color/image_raw/anonymized/instances",
                "/cam/color/image_raw/camera_info",
            ),
        ),
        (
            {"namespace": "cam", "image": "image_raw/compressed"},
            (
                "/cam/image_raw/compressed",
                "/cam/camera_info",
                "/cam/image_raw/anonymized/compressed",
                "/cam/image_raw/anonymized/instances",
                "/cam/image_raw/camera_info",
            ),
        ),
        (
            {"namespace": "cam", "image": "color/image_raw", "output": "private/image"},
            (
                "/cam/color/image_raw",
                "/cam/color/camera_info",
                "/cam/private/image",
                "/cam/private/image/instances",
                "/cam/private/camera_info",
            ),
        ),
    ],
)
def test_single_camera_launch_gives_the_topics_a_user_expects(args, expected):
    (node,) = _launched_nodes(ROOT / "launch" / "anonymizer.launch.py", args)
    assert (node["package"], node["executable"]) == ("inspire_ros", "anonymizer_node")
    assert _names(_node_topics(node)) == expected


@pytest.mark.parametrize(
    "image, leaf",
    [
        ("image_raw", ("image_raw", "camera_info", "image_raw/anonymized", "image_raw/anonymized/instances")),
        (
            "color/image_raw",
            (
                "color/image_raw",
                "color/camera_info",
                "color/image_raw/anonymized",
                "color/image_raw/anonymized/instances",
            ),
        ),
        (
            "image_raw/compressed",
            (
                "image_raw/compressed",
                "camera_info",
                "image_raw/anonymized/compressed",
                "image_raw/anonymized/instances",
            ),
        ),
    ],
)
def test_multi_camera_launch_gives_each_namespace_the_topics_a_user_expects(image, leaf):
    nodes = _launched_nodes(ROOT / "launch" / "multi_camera.launch.py", {"cameras": "front, left", "image": image})
    assert [n["namespace"] for n in nodes] == ["front", "left"]
    for node in nodes:
        cam = _node_topics(node)
        assert _names(cam)[:4] == tuple(f"/{node['namespace']}/{t}" for t in leaf)


def test_a_transport_the_node_cannot_decode_is_refused_with_the_way_in():
    args = {"namespace": "cam", "image": "image_raw/theora"}
    (node,) = _launched_nodes(ROOT / "launch" / "anonymizer.launch.py", args)
    with pytest.raises(topics.TransportError, match=r"republish theora raw .*in/theora:=/cam/image_raw/theora"):
        _node_topics(node)


# --- lifecycle, sim time, log level ------------------------------------------------------------


def _overrides(node: dict) -> dict:
    """The node's parameters set by the launch file itself (the dict after the params file)."""
    return {k: v for p in node["parameters"] if isinstance(p, dict) for k, v in p.items()}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_lifecycle_sim_time_and_log_level_arguments_with_their_defaults(path):
    tree = _tree(path)
    declared = {c.args[0].value for c in _calls(tree, {"DeclareLaunchArgument"})}
    assert declared >= LIFECYCLE_ARGS
    for node in _launched_nodes(path, {}):
        # launch drives the lifecycle; the node's own autostart is off so the two never race
        assert node["autostart"] is True
        assert _overrides(node)["autostart"] is False
        assert _overrides(node)["use_sim_time"] is False
        assert node["ros_arguments"] == ["--log-level", "info"]
        assert node["parameters"][0] == "/share/inspire_ros/config/anonymizer_node.yaml"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_lifecycle_sim_time_and_log_level_arguments_reach_the_node(path):
    args = {"autostart": "false", "use_sim_time": "True", "log_level": "debug"}
    nodes = _launched_nodes(path, args)
    assert nodes
    for node in nodes:
        assert node["autostart"] is False  # left unconfigured for a lifecycle manager
        assert _overrides(node)["autostart"] is False  # and the node does not start itself either
        assert _overrides(node)["use_sim_time"] is True
        assert node["ros_arguments"] == ["--log-level", "debug"]


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_a_flag_that_is_not_a_boolean_is_refused(path):
    with pytest.raises(ValueError, match="use_sim_time"):
        _launched_nodes(path, {"use_sim_time": "sometimes"})


def test_the_node_parameter_autostart_is_declared_for_running_without_launch():
    # ros2 run / .venv/bin/anonymizer_node: the node starts itself (the shipped params say so)
    params = yaml.safe_load((ROOT / "config" / "anonymizer_node.yaml").read_text())["/**"]["ros__parameters"]
    assert P.BY_NAME["autostart"].default is True and params["autostart"] is True


def test_multi_camera_outputs_are_one_per_namespace_where_users_look():
    nodes = _launched_nodes(
        ROOT / "launch" / "multi_camera.launch.py", {"cameras": "front,/left/,rear", "output": "private/image"}
    )
    assert [n["namespace"] for n in nodes] == ["front", "left", "rear"]
    cams = [_node_topics(n) for n in nodes]
    assert [c.output for c in cams] == ["/front/private/image", "/left/private/image", "/rear/private/image"]
    assert [c.instances for c in cams] == [f"/{ns}/private/image/instances" for ns in ("front", "left", "rear")]
    assert [c.detections for c in cams] == [f"/{ns}/private/image/detections" for ns in ("front", "left", "rear")]
    assert len({c.camera_info_out for c in cams}) == 3


@pytest.mark.parametrize(
    "args, match",
    [
        ({"image": "/camera/image_raw"}, "absolute"),
        ({"output": "/anonymized"}, "absolute"),
        ({"cameras": "front,front"}, "distinct"),
        ({"cameras": " , "}, "distinct"),
    ],
)
def test_multi_camera_refuses_arguments_that_would_merge_cameras(args, match):
    with pytest.raises(ValueError, match=match):
        _launched_nodes(ROOT / "launch" / "multi_camera.launch.py", args)
