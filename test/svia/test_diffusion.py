"""The diffusers backend of SVIA (svia/diffusion.py) on tiny randomly initialised Stable
Diffusion pipelines built here from configs (no weights, no hub) and a real CamVid frame,
with the shipped ONNX segmenter."""

import json
import shutil
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest

from inspire_ros import config as config_mod
from inspire_ros.config import ConfigError
from inspire_ros.model_store import ModelError
from inspire_ros.pipeline import Anonymizer
from inspire_ros.svia import diffusion
from inspire_ros.svia.blocks import build_block

from support import CAMVID, union_mask

pytest.importorskip("diffusers", reason="the diffusion extra is not installed: pip install -e '.[diffusion]'")

FRAME = CAMVID / "test" / "images" / "0001TP_009240.jpg"
# A small working resolution keeps the random pipelines fast on two CPU cores.
SMALL = {"width": 64, "height": 48}
FAST = {"steps": 2}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to reach the network (a hub look-up) fails the test."""

    def refuse(self, address):
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models: one thread is fastest, and stays fast when other jobs load the CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tokenizer(folder):
    """A CLIP tokenizer from a tiny byte-level vocabulary (single characters, no merges)."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    for token in letters + [c + "</w>" for c in letters]:
        vocab[token] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True, model_max_length=77)


def _tiny_pipeline(root, cls, in_channels: int):
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _tokenizer(root / f"vocab_{cls.__name__}")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            block_out_channels=(16, 32),
            norm_num_groups=8,
            layers_per_block=1,
            sample_size=32,
            in_channels=in_channels,
            out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
        )
        vae = AutoencoderKL(
            block_out_channels=(16, 32),
            norm_num_groups=8,
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            latent_channels=4,
            layers_per_block=1,
            sample_size=64,
        )
        text = CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            projection_dim=32,
        )
        text_encoder = CLIPTextModel(text)
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = cls(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder = root / cls.__name__
    pipe.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """{"inpaint": folder, "img2img": folder}: save_pretrained folders of tiny random pipelines."""
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline

    root = tmp_path_factory.mktemp("diffusers")
    return {
        "inpaint": _tiny_pipeline(root, StableDiffusionInpaintPipeline, 9),
        "img2img": _tiny_pipeline(root, StableDiffusionImg2ImgPipeline, 4),
    }


def svia_cfg(inpainter: dict | None = None, harmonizer: dict | None = None, **svia) -> config_mod.Config:
    blocks = {k: {"type": "diffusers", **v} for k, v in (("inpainter", inpainter), ("harmonizer", harmonizer)) if v}
    return config_mod.from_dict({"method": "svia", "svia": {**SMALL, **svia, **blocks}})


@pytest.fixture(scope="module")
def frame(shared):
    return cv2.imread(str(FRAME))


@pytest.fixture(scope="module")
def anonymizer(shared, tiny):
    cfg = svia_cfg(
        {"model": str(tiny["inpaint"]), "params": {**FAST, "guidance": 1.0}},
        {"model": str(tiny["img2img"]), "params": {"steps": 4, "strength": 0.5, "prompt": "a street"}},
        prompts={"road": "a wet road"},
    )
    return Anonymizer(cfg)


def test_the_diffusers_blocks_run_end_to_end_and_touch_only_the_replaced_regions(anonymizer, frame):
    scene = anonymizer.scene
    assert isinstance(scene.inpainter, diffusion.DiffusersInpainter)
    assert isinstance(scene.harmonizer, diffusion.DiffusersHarmonizer)
    assert scene.inpainter.provider == scene.harmonizer.provider == "cpu"
    assert scene.inpainter.prompts["road"] == "a wet road" and scene.inpainter.prompts["vehicle"] == "a car on the road"

    out, instances = anonymizer.anonymize(frame, rng=np.random.default_rng(1))
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert instances, "the segmenter found none of the SVIA categories in a CamVid street frame"
    replaced = union_mask(frame, instances)
    assert np.array_equal(out[~replaced], frame[~replaced])  # harmonize: regions
    assert (out != frame).any(2)[replaced].mean() > 0.5

    again, _ = anonymizer.anonymize(frame, rng=np.random.default_rng(1))
    other, _ = anonymizer.anonymize(frame, rng=np.random.default_rng(2))
    assert np.array_equal(out, again)
    assert (other != out).any(2)[replaced].mean() > 0.5


def test_one_inpainting_folder_serves_as_inpainter_and_harmonizer(tiny):
    params = {**FAST, "strength": 0.5}
    cfg = svia_cfg({"model": str(tiny["inpaint"]), "params": FAST}, {"model": str(tiny["inpaint"]), "params": params})
    loaded: dict = {}  # what a SceneReplacement shares between its blocks
    inpainter, harmonizer = build_block("inpainter", cfg, loaded), build_block("harmonizer", cfg, loaded)
    assert harmonizer.pipe.unet.config.in_channels == 9
    assert harmonizer.pipe is inpainter.pipe  # loaded once
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    out = harmonizer.harmonize(image, np.ones((48, 64), np.uint8), np.random.default_rng(0))
    assert out.shape == image.shape and out.dtype == np.uint8


def test_the_pipeline_may_run_at_another_resolution_and_comes_back_at_the_working_one(tiny):
    cfg = svia_cfg({"model": str(tiny["inpaint"]), "params": {**FAST, "resolution": 64, "negative_prompt": "blurry"}})
    inpainter = build_block("inpainter", cfg)
    assert inpainter._run_size(64, 48) == (88, 64)
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    masks = np.zeros((3, 48, 64), np.uint8)
    masks[0, 10:30, 5:40] = 1
    masks[1, 30:, :] = 1  # masks[2] empty: no pipeline call, the input comes back
    out = inpainter.inpaint(image, masks, ["person", "road", "building"], 96.0, np.random.default_rng(0))
    assert out.shape == (3, 48, 64, 3) and out.dtype == np.uint8
    assert np.array_equal(out[2], image)
    assert not np.array_equal(out[0], out[1])


def test_importing_the_backend_does_not_import_torch():
    code = (
        "import sys, inspire_ros.svia.diffusion, inspire_ros.svia.blocks; "
        "assert not {'torch', 'diffusers', 'transformers'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- failing closed ---------------------------------------------------------------------


def _build(kind: str, model, params: dict | None = None, **block):
    cfg = svia_cfg(**{kind: {"model": model, "params": params or {}, **block}})
    return build_block(kind, cfg)


def _expect(error, kind, model, *phrases, params=None, **block):
    with pytest.raises(error) as info:
        _build(kind, model, params, **block)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_no_model_names_the_key_and_how_to_make_a_folder():
    _expect(ConfigError, "inpainter", None, "svia.inpainter.model", "save_pretrained")


def test_a_hub_id_is_refused_without_downloading_and_says_how_to_get_a_local_folder():
    _expect(
        ConfigError,
        "inpainter",
        "runwayml/stable-diffusion-inpainting",
        "svia.inpainter.model",
        "hub id",
        "never downloaded",
        "hf download runwayml/stable-diffusion-inpainting --local-dir DIR",
        "save_pretrained",
    )


def test_a_missing_folder_a_file_and_a_folder_without_model_index_are_refused(tmp_path):
    _expect(ModelError, "harmonizer", str(tmp_path / "nowhere"), "does not exist", "svia.harmonizer.model")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 16)
    _expect(ModelError, "inpainter", str(tmp_path / "model.safetensors"), "is a file", "from_single_file")
    (tmp_path / "empty").mkdir()
    _expect(ModelError, "inpainter", str(tmp_path / "empty"), "no model_index.json", "svia.inpainter.model")


def test_a_pipeline_of_the_wrong_kind_is_refused_before_loading(tiny, tmp_path):
    _expect(ModelError, "inpainter", str(tiny["img2img"]), "4 input channels", "takes 9", "svia.inpainter.model")
    # A UNet neither img2img nor inpainting (e.g. a depth-conditioned one), only its configs.
    depth = tmp_path / "depth"
    (depth / "unet").mkdir(parents=True)
    shutil.copy(tiny["img2img"] / "model_index.json", depth)
    unet = json.loads((tiny["img2img"] / "unet" / "config.json").read_text())
    (depth / "unet" / "config.json").write_text(json.dumps({**unet, "in_channels": 5}))
    _expect(ModelError, "harmonizer", str(depth), "5 input channels", "svia.harmonizer.model")
    xl = tmp_path / "xl"
    xl.mkdir()
    index = json.loads((tiny["img2img"] / "model_index.json").read_text())
    (xl / "model_index.json").write_text(json.dumps({**index, "text_encoder_2": ["transformers", "CLIPTextModel"]}))
    _expect(ModelError, "harmonizer", str(xl), "SDXL", "1.x/2.x")


def test_broken_weights_are_a_model_error(tiny, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny["img2img"], broken)
    weights = next((broken / "unet").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    _expect(ModelError, "harmonizer", str(broken), "cannot load", "svia.harmonizer.model")


def test_without_the_extra_the_error_says_how_to_install_it(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)
    _expect(ConfigError, "inpainter", str(tiny["inpaint"]), "pip install -e '.[diffusion]'", "svia.inpainter")


@pytest.mark.parametrize(
    "kind, params, phrase",
    [
        ("inpainter", {"stepz": 3}, "svia.inpainter.params.stepz"),
        ("inpainter", {"prompt": "x"}, "svia.inpainter.params.prompt"),  # prompts come from svia.prompts
        ("harmonizer", {"steps": 0}, "svia.harmonizer.params.steps"),
        ("harmonizer", {"steps": 2, "strength": 0.3}, "raise steps to at least 4"),
        ("inpainter", {"strength": 0}, "svia.inpainter.params.strength"),
        ("inpainter", {"device": "gpu"}, "svia.inpainter.params.device"),
        ("inpainter", {"dtype": "float16"}, "float16 runs only on cuda"),
        ("inpainter", {"resolution": 100}, "svia.inpainter.params.resolution"),
    ],
)
def test_bad_params_name_the_key(tiny, kind, params, phrase):
    _expect(ConfigError, kind, str(tiny["inpaint"]), phrase, params=params)


def test_cuda_asked_for_without_cuda_is_a_clear_error(tiny):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _expect(
        ConfigError,
        "inpainter",
        str(tiny["inpaint"]),
        "svia.inpainter.params.device",
        "no CUDA",
        params={"device": "cuda"},
    )


def test_a_sha256_is_refused_for_a_folder(tiny):
    _expect(ConfigError, "inpainter", str(tiny["inpaint"]), "svia.inpainter.sha256", sha256="0" * 64)
