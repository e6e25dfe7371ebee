import shutil

import pytest

from inspire_ros import model_store
from inspire_ros.detect.yolox import YoloxDetector
from inspire_ros.model_store import ModelError
from inspire_ros.onnx_session import provider_list


def test_manifest_matches_shared_models():
    manifest = model_store.load_manifest()
    for name in ("yolox_nano.onnx", "yolox_nano_dynamic.onnx"):
        path = model_store.resolve(name)
        assert model_store.sha256_of(path) == manifest[name].sha256


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


def test_tampered_model_is_refused_before_loading(tmp_path, default_cfg):
    tampered = tmp_path / "yolox_nano.onnx"
    data = bytearray(model_store.resolve("yolox_nano.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    cfg = default_cfg.replace(**{"detector.model": str(tampered)})
    with pytest.raises(ModelError, match=r"yolox_nano\.onnx has sha256 .* expected 695e750a"):
        YoloxDetector(cfg)


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
