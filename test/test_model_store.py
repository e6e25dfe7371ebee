import os
import shutil

import pytest

from inspire_ros import model_store, paths
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.model_store import ModelError
from inspire_ros.onnx_session import provider_list

SHIPPED = ("inspire_unet_camvid.onnx", "inspire_gen_camvid.onnx")


@pytest.mark.usefixtures("shared")
def test_manifest_matches_shared_models():
    manifest = model_store.load_manifest()
    for name in ("yolox_nano.onnx", "yolox_nano_dynamic.onnx"):
        path = model_store.resolve(name)
        assert model_store.sha256_of(path) == manifest[name].sha256


@pytest.mark.usefixtures("shared")
def test_model_dir_env_takes_precedence(tmp_path, monkeypatch):
    src = model_store.resolve("yolox_nano.onnx")
    shutil.copy(src, tmp_path / "yolox_nano.onnx")
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(tmp_path))
    assert model_store.resolve("yolox_nano.onnx") == tmp_path / "yolox_nano.onnx"


def test_missing_model_names_file_places_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError) as e:
        model_store.resolve("nothing_here.onnx")
    msg = str(e.value)
    assert "nothing_here.onnx" in msg and str(tmp_path) in msg and "INSPIRE_MODEL_DIR" in msg
    with pytest.raises(ModelError, match="inspire models fetch yolox_nano.onnx"):
        model_store.resolve(str(tmp_path / "yolox_nano.onnx"))


@pytest.mark.usefixtures("shared")
def test_tampered_model_is_refused_before_loading(tmp_path, default_cfg):
    tampered = tmp_path / "yolox_nano.onnx"
    data = bytearray(model_store.resolve("yolox_nano.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    cfg = default_cfg.replace(**{"detector.model": str(tampered)})
    with pytest.raises(ModelError, match=r"yolox_nano\.onnx has sha256 .* expected 695e750a"):
        YoloxDetector(cfg)


@pytest.mark.usefixtures("shared")
def test_configured_sha256_for_models_outside_the_manifest(tmp_path, default_cfg):
    custom = tmp_path / "my_detector.onnx"
    shutil.copy(model_store.resolve("yolox_nano.onnx"), custom)
    ok = default_cfg.replace(**{"detector.model": str(custom), "detector.sha256": model_store.sha256_of(custom)})
    assert YoloxDetector(ok).provider == "CPUExecutionProvider"
    bad = default_cfg.replace(**{"detector.model": str(custom), "detector.sha256": "0" * 64})
    with pytest.raises(ModelError, match="from the config"):
        YoloxDetector(bad)


def test_providers_are_explicit_and_cpu_is_the_fallback():
    import onnxruntime as ort

    assert provider_list(["cpu"]) == ["CPUExecutionProvider"]
    got = provider_list(["tensorrt", "cuda", "cpu"])
    assert got[-1] == "CPUExecutionProvider"
    assert set(got) <= set(ort.get_available_providers())
    assert "AzureExecutionProvider" not in got


@pytest.mark.parametrize("content", [b"this is not a model\n", b"", bytes(range(256)) * 4])
def test_a_file_that_is_not_onnx_is_a_model_error_naming_it_and_the_fix(tmp_path, default_cfg, content):
    fake = tmp_path / "detector.onnx"
    fake.write_bytes(content)
    cfg = default_cfg.replace(**{"detector.model": str(fake), "detector.sha256": model_store.sha256_of(fake)})
    with pytest.raises(ModelError) as e:
        YoloxDetector(cfg)
    message = str(e.value)
    assert str(fake) in message and "not an ONNX model" in message and "To fix" in message and "\n" not in message


def test_a_broken_manifest_is_a_model_error(tmp_path):
    broken = tmp_path / "manifest.yaml"
    broken.write_text("models: [\n")
    with pytest.raises(ModelError, match="manifest.yaml cannot be read"):
        model_store.load_manifest(broken)
    broken.write_text("models:\n  x.onnx: {licence: none}\n")  # no sha256
    with pytest.raises(ModelError, match="sha256"):
        model_store.load_manifest(broken)


def _install_like(root, files=()):
    """A colcon install prefix as the ament index sees it: a marker and share/inspire_ros/models."""
    (root / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (root / "share/ament_index/resource_index/packages/inspire_ros").write_text("")
    models = root / "share/inspire_ros/models"
    models.mkdir(parents=True)
    for f in files:
        shutil.copy(model_store.resolve(f), models / f)
    return models


@pytest.mark.usefixtures("shared")
def test_resolution_order_env_checkout_install_shared(tmp_path, monkeypatch):
    detector = model_store.resolve("yolox_nano.onnx")  # from the real shared folder
    installed = _install_like(tmp_path / "install", ["yolox_nano.onnx", "inspire_gen_camvid.onnx"])
    monkeypatch.delenv("INSPIRE_MODEL_DIR", raising=False)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "install"))
    monkeypatch.setenv("INSPIRE_SHARED", str(detector.parent.parent))
    checkout = paths.package_models_dir()
    assert model_store.search_dirs() == [checkout, installed, detector.parent]
    # The install's copy comes before the shared folder; the checkout's before the install's.
    assert model_store.resolve("yolox_nano.onnx") == installed / "yolox_nano.onnx"
    assert model_store.resolve("inspire_gen_camvid.onnx") == checkout / "inspire_gen_camvid.onnx"
    # $INSPIRE_MODEL_DIR comes first of all.
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copy(detector, env_dir / "yolox_nano.onnx")
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(env_dir))
    assert model_store.search_dirs()[:3] == [env_dir, checkout, installed]
    assert model_store.resolve("yolox_nano.onnx") == env_dir / "yolox_nano.onnx"


def test_without_the_install_or_shared_folder_the_error_names_the_install_folder(tmp_path, monkeypatch):
    installed = _install_like(tmp_path / "install")
    monkeypatch.delenv("INSPIRE_MODEL_DIR", raising=False)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "install"))
    monkeypatch.setenv("INSPIRE_SHARED", str(tmp_path / "no_shared"))
    with pytest.raises(ModelError) as e:
        model_store.resolve("yolox_nano.onnx")
    assert str(installed / "yolox_nano.onnx") in str(e.value) and "inspire models fetch yolox_nano.onnx" in str(e.value)


def test_fetch_goes_to_the_first_writable_folder_of_the_order(tmp_path, monkeypatch):
    installed = _install_like(tmp_path / "install")
    monkeypatch.delenv("INSPIRE_MODEL_DIR", raising=False)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "install"))
    monkeypatch.setenv("INSPIRE_SHARED", str(tmp_path / "no_shared"))
    checkout = paths.package_models_dir()
    assert model_store.fetch_dir() == checkout
    real_access = os.access
    read_only = {str(checkout)}  # root may write anywhere: the checkout stands in for a read-only one
    monkeypatch.setattr(os, "access", lambda p, mode: str(p) not in read_only and real_access(p, mode))
    assert model_store.fetch_dir() == installed
    read_only.add(str(installed))
    assert model_store.fetch_dir() == tmp_path / "no_shared" / "models"  # fetch creates it
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(ModelError, match="no writable model folder .* --dir"):
        model_store.fetch_dir()
    monkeypatch.setenv("INSPIRE_MODEL_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(os, "access", real_access)
    assert model_store.fetch_dir() == tmp_path / "mine"


@pytest.mark.usefixtures("shared")
def test_the_dynamic_detector_is_made_from_the_fixed_one(tmp_path):
    """Online users get yolox_nano_dynamic.onnx from yolox_nano.onnx (here: the shared copy, no
    network): the same graph with symbolic H/W, byte-identical to the shipped file."""
    pytest.importorskip("onnx", reason="deriving a model needs the onnx package (torch extra)")
    made = model_store.fetch("yolox_nano_dynamic.onnx", tmp_path)
    assert made == tmp_path / "yolox_nano_dynamic.onnx"
    assert model_store.sha256_of(made) == model_store.load_manifest()["yolox_nano_dynamic.onnx"].sha256
    assert [p.name for p in tmp_path.iterdir()] == ["yolox_nano_dynamic.onnx"]  # no temp left


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_are_in_the_package_and_match_the_manifest(name):
    path = model_store.resolve(name)
    assert path.parent.name == "models" and path.parent.parent.name != "shared"
    assert model_store.sha256_of(path) == model_store.load_manifest()[name].sha256
    assert path.stat().st_size < 10 * 2**20  # a few MB, fit for a vehicle image
