"""The diffusers backend of the SVIA inpainter and harmonizer (Stable Diffusion, as in the paper).

Optional: it needs the `diffusion` extra (torch, diffusers, transformers), which the vehicle
runtime never installs; this module imports them only when a block is built. A model is a
local diffusers pipeline folder (what `save_pretrained` or `hf download --local-dir` writes);
the hub is never contacted, and a hub id is refused with how to get such a folder.

- inpainter (`type: diffusers`): a Stable Diffusion inpainting pipeline (UNet with 9 input
  channels), one call per category with the category's text prompt (`svia.prompts`, else
  `svia.classes.DEFAULT_PROMPTS`), the Laplace-noised image and the category's mask.
- harmonizer: img2img over the whole composite at a low strength (the paper's harmonization),
  with the weights of a plain Stable Diffusion folder (UNet with 4 input channels) or of the
  inpainting folder itself (run as img2img: the whole image masked).

Randomness comes from the `rng` the caller passes (a seeded anonymizer is reproducible): each
pipeline call gets a CPU `torch.Generator` seeded from it, the same on every device.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import cv2
import numpy as np

from ..config import Config, ConfigError, SceneBlockConfig, SviaConfig, block_params
from ..model_store import ModelError
from .classes import DEFAULT_PROMPTS

INSTALL = "pip install -e '.[diffusion]'"

# The UNet's input channels: latents (4), or latents + mask (1) + masked-image latents (4).
INPAINT_CHANNELS = 9
IMG2IMG_CHANNELS = 4

_COMMON = {
    "steps": 20,  # denoising steps of the schedule (img2img runs strength * steps of them)
    "guidance": 7.5,  # classifier-free guidance scale (<= 1: none, half the work)
    "negative_prompt": "",
    "device": "cpu",  # cpu | cuda | cuda:N, never chosen implicitly
    "dtype": "float32",  # float32 | float16 (cuda only)
    # The pipeline's shorter side in pixels (a multiple of 8); None: the working resolution.
    # Stable Diffusion 1.x/2.x works best at 512; the output is scaled back either way.
    "resolution": None,
}
DEFAULTS = {
    "inpainter": {**_COMMON, "strength": 1.0},
    "harmonizer": {**_COMMON, "strength": 0.3, "prompt": "a photo of a city street"},
}
PIPELINES = {"inpainter": "an inpainting", "harmonizer": "an img2img (or inpainting)"}
REQUIRED_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def build_inpainter(block: SceneBlockConfig, cfg: Config | None = None) -> DiffusersInpainter:
    """The `diffusers` inpainter (plugins.BUILTIN): shares pipelines through blocks.SHARED."""
    return build("inpainter", block, cfg, "svia.inpainter", _shared())


def build_harmonizer(block: SceneBlockConfig, cfg: Config | None = None) -> DiffusersHarmonizer:
    """The `diffusers` harmonizer (plugins.BUILTIN): shares pipelines through blocks.SHARED."""
    return build("harmonizer", block, cfg, "svia.harmonizer", _shared())


def _shared() -> dict | None:
    from .blocks import SHARED

    return SHARED.get()


def build(kind: str, block: SceneBlockConfig, cfg: Config | None, key: str, loaded: dict | None = None):
    """The diffusers inpainter or harmonizer (`kind`) of `block`; `key`: its config key
    (svia.inpainter). `loaded`: pipelines already loaded by the same scene replacer, by
    (folder, class, device, dtype), so an inpainting folder that serves as both inpainter and
    harmonizer is loaded once. Raises ConfigError / ModelError with the key and the fix."""
    if kind not in DEFAULTS:
        raise ConfigError(
            f"config key '{key}.type': diffusers provides only an inpainter or a harmonizer, not a {kind}"
        )
    params = _params(kind, block.params, f"{key}.params")
    if block.sha256:
        raise ConfigError(
            f"config key '{key}.sha256': a diffusers model is a folder and is not checked against a sha256; "
            "remove the key (only onnx blocks use it)"
        )
    folder = _folder(kind, block.model, key)
    unet_channels = _check_folder(kind, folder, key)
    torch, diffusers = _import(key)
    device, dtype = _device(torch, params, f"{key}.params")
    svia = cfg.svia if cfg is not None else SviaConfig()
    if kind == "inpainter":
        pipe = _load(diffusers.StableDiffusionInpaintPipeline, folder, device, dtype, key, loaded)
        prompts = {c: svia.prompts.get(c) or default for c, default in DEFAULT_PROMPTS.items()}
        return DiffusersInpainter(pipe, params, prompts, device)
    cls = diffusers.StableDiffusionImg2ImgPipeline
    if unet_channels == INPAINT_CHANNELS:
        cls = diffusers.StableDiffusionInpaintPipeline
    return DiffusersHarmonizer(_load(cls, folder, device, dtype, key, loaded), params, device)


class _Block:
    def __init__(self, pipe, params: dict, device: str):
        self.pipe, self.params, self.provider = pipe, params, device

    def _run_size(self, w: int, h: int) -> tuple[int, int]:
        """(width, height) the pipeline runs at: multiples of 8 (what Stable Diffusion takes)."""
        r = self.params["resolution"]
        scale = 1.0 if r is None else r / min(w, h)
        return max(8, round(w * scale / 8) * 8), max(8, round(h * scale / 8) * 8)

    def _call(self, image: np.ndarray, seed: int, **kwargs) -> np.ndarray:
        """One pipeline call on `image` (H,W,3 uint8 BGR) -> (H,W,3) uint8 BGR, same size."""
        import torch

        h, w = image.shape[:2]
        rw, rh = self._run_size(w, h)
        p = self.params
        if "mask_image" in kwargs:  # the inpainting pipeline; img2img takes the image's size
            kwargs.update(width=rw, height=rh)
        out = self.pipe(
            image=_pil(image, (rw, rh)),
            strength=p["strength"],
            num_inference_steps=p["steps"],
            guidance_scale=p["guidance"],
            negative_prompt=p["negative_prompt"] or None,
            generator=torch.Generator("cpu").manual_seed(seed),
            output_type="np",
            **kwargs,
        ).images[0]
        rgb = np.clip(np.asarray(out, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        if bgr.shape[:2] != (h, w):
            shrink = bgr.shape[0] > h
            bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return bgr


class DiffusersInpainter(_Block):
    """svia.blocks.Inpainter with a Stable Diffusion inpainting pipeline."""

    def __init__(self, pipe, params: dict, prompts: dict[str, str], device: str):
        super().__init__(pipe, params, device)
        self.prompts = prompts

    def inpaint(self, image, masks, categories, noise_scale, rng):
        """One pipeline call per category: its prompt, the noised image, its mask. The noise
        scale is already in the image (with strength 1 only the mask's outside is seen)."""
        h, w = image.shape[:2]
        seeds = _seeds(rng, len(categories))
        out = np.empty((len(categories), h, w, 3), np.uint8)
        for k, cat in enumerate(categories):
            if not masks[k].any():
                out[k] = image
                continue
            rw, rh = self._run_size(w, h)
            mask = cv2.resize(
                np.where(masks[k] > 0, 255, 0).astype(np.uint8), (rw, rh), interpolation=cv2.INTER_NEAREST
            )
            out[k] = self._call(image, seeds[k], prompt=self.prompts[cat], mask_image=_mask_pil(mask))
        return out


class DiffusersHarmonizer(_Block):
    """svia.blocks.Harmonizer: img2img over the whole composite at a low strength."""

    def __init__(self, pipe, params: dict, device: str):
        super().__init__(pipe, params, device)
        self.inpainting = pipe.unet.config.in_channels == INPAINT_CHANNELS

    def harmonize(self, image, mask, rng):
        (seed,) = _seeds(rng, 1)
        extra = {}
        if self.inpainting:  # img2img through an inpainting UNet: everything is to be redrawn
            rw, rh = self._run_size(image.shape[1], image.shape[0])
            extra["mask_image"] = _mask_pil(np.full((rh, rw), 255, np.uint8))
        return self._call(image, seed, prompt=self.params["prompt"], **extra)


def _seeds(rng: np.random.Generator, n: int) -> list[int]:
    return [int(s) for s in rng.integers(0, 2**63 - 1, size=n)]


def _pil(image: np.ndarray, size: tuple[int, int]):
    from PIL import Image

    rgb = np.ascontiguousarray(image[..., ::-1])
    if (rgb.shape[1], rgb.shape[0]) != size:
        shrink = rgb.shape[1] > size[0]
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return Image.fromarray(rgb, "RGB")


def _mask_pil(mask: np.ndarray):
    from PIL import Image

    return Image.fromarray(mask, "L")


# --- checks -------------------------------------------------------------------------------


def _params(kind: str, params: dict, key: str) -> dict:
    if not isinstance(params, dict):
        raise ConfigError(f"config key '{key}': must be a mapping, got {type(params).__name__}")
    p = block_params(params, DEFAULTS[kind], key)

    def bad(name: str, want: str):
        raise ConfigError(f"config key '{key}.{name}': must be {want}; got {p[name]!r}")

    if not _number(p["steps"], 1, 1000) or not isinstance(p["steps"], int):
        bad("steps", "an integer in [1, 1000]")
    if not _number(p["guidance"], 0, 100):
        bad("guidance", "a number in [0, 100]")
    if not _number(p["strength"], 0, 1) or p["strength"] == 0:
        bad("strength", "a number in (0, 1]")
    p["guidance"], p["strength"] = float(p["guidance"]), float(p["strength"])
    left = int(p["steps"] * p["strength"])  # what img2img/inpainting run of the schedule
    if left < 1:
        raise ConfigError(
            f"config key '{key}.steps': with strength {p['strength']:g}, {p['steps']} steps leave {left} denoising "
            f"steps; raise steps to at least {int(np.ceil(1 / p['strength']))}"
        )
    for name in ("negative_prompt", "prompt"):
        if name in p and not isinstance(p[name], str):
            bad(name, "a string")
    if not isinstance(p["device"], str) or not re.fullmatch(r"cpu|cuda(:\d+)?", p["device"]):
        bad("device", "cpu, cuda or cuda:N")
    if p["dtype"] not in ("float32", "float16"):
        bad("dtype", "float32 or float16")
    if p["dtype"] == "float16" and p["device"] == "cpu":
        raise ConfigError(f"config key '{key}.dtype': float16 runs only on cuda; use float32 with device cpu")
    r = p["resolution"]
    if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r % 8 or not 64 <= r <= 4096):
        bad("resolution", "null or a multiple of 8 in [64, 4096]")
    return p


def _number(v, lo: float, hi: float) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi


def _folder(kind: str, model, key: str) -> Path:
    """The local pipeline folder `model` names; never a download."""
    how = (
        f"set {key}.model to a local diffusers folder of {PIPELINES[kind]} Stable Diffusion pipeline "
        "(written by `save_pretrained(DIR)` or `hf download ORG/NAME --local-dir DIR`)"
    )
    if model is None or (isinstance(model, str) and not model.strip()):
        raise ConfigError(f"config key '{key}.model': type diffusers has no shipped model; {how}")
    if not isinstance(model, str):
        raise ConfigError(f"config key '{key}.model': must be a folder path; got {type(model).__name__}")
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelError(
            f"diffusers model {path} (config key '{key}.model') is a file, not a pipeline folder. To fix: {how}; "
            "a single-file checkpoint converts with `from_single_file(FILE).save_pretrained(DIR)`."
        )
    if _HUB_ID.match(model) and not model.startswith("."):
        raise ConfigError(
            f"config key '{key}.model': '{model}' is not a local folder (it looks like a Hugging Face hub id; "
            "models are never downloaded at run time). To fix: on a machine with network access run "
            f"`hf download {model} --local-dir DIR` (older huggingface_hub: `huggingface-cli download`) or "
            f"`from_pretrained('{model}').save_pretrained(DIR)`, copy DIR here and set {key}.model to its path"
        )
    raise ModelError(f"diffusers model folder {path} (config key '{key}.model') does not exist. To fix: {how}.")


def _read_json(path: Path, folder: Path, key: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(
            f"{path} (model of config key '{key}.model') cannot be read ({' '.join(str(e).split())}): "
            f"{folder} is a broken diffusers pipeline folder; write it again with save_pretrained"
        ) from e
    if not isinstance(data, dict):
        raise ModelError(f"{path} (model of config key '{key}.model') is not a JSON object: a broken pipeline folder")
    return data


def _check_folder(kind: str, folder: Path, key: str) -> int:
    """Refuse what is not a Stable Diffusion pipeline of the right kind, before loading any
    weights; the UNet's input channels."""
    index = folder / "model_index.json"
    if not index.is_file():
        raise ModelError(
            f"{folder} (config key '{key}.model') is not a diffusers pipeline folder: it has no model_index.json. "
            f"To fix: point {key}.model at the folder that `save_pretrained(DIR)` or "
            "`hf download ORG/NAME --local-dir DIR` wrote (the one with model_index.json, unet/, vae/, ...)"
        )
    spec = _read_json(index, folder, key)
    name = spec.get("_class_name", "?")
    missing = [c for c in REQUIRED_COMPONENTS if not (isinstance(spec.get(c), list) and spec[c][0] is not None)]
    if missing or "text_encoder_2" in spec or "XL" in str(name):
        what = f"lacks {', '.join(missing)}" if missing else "is SDXL"
        raise ModelError(
            f"{folder} (config key '{key}.model') is a {name} pipeline that {what}: the diffusers backend runs "
            f"Stable Diffusion 1.x/2.x pipelines (unet, vae, text_encoder, tokenizer, scheduler). To fix: "
            f"set {key}.model to {PIPELINES[kind]} Stable Diffusion folder"
        )
    unet = _read_json(folder / "unet" / "config.json", folder, key)
    channels = unet.get("in_channels")
    wanted = (INPAINT_CHANNELS,) if kind == "inpainter" else (IMG2IMG_CHANNELS, INPAINT_CHANNELS)
    if channels not in wanted:
        if kind == "inpainter":
            need = (
                f"an inpainting pipeline's UNet takes {INPAINT_CHANNELS} (latents 4 + mask 1 + masked image 4). "
                "To fix: use a Stable Diffusion inpainting model (e.g. stable-diffusion-inpainting) for "
                f"{key}.model; a plain text-to-image folder serves as svia.harmonizer.model"
            )
        else:
            need = (
                f"img2img harmonization needs a text-to-image UNet ({IMG2IMG_CHANNELS}) or an inpainting one "
                f"({INPAINT_CHANNELS}). To fix: set {key}.model to a Stable Diffusion 1.x/2.x folder"
            )
        raise ModelError(
            f"{folder} (config key '{key}.model') is a {name} pipeline whose UNet takes {channels} input channels; "
            + need
        )
    return channels


def _import(key: str):
    """torch and diffusers, offline and quiet; ConfigError naming the extra if missing."""
    # Never the network: no hub look-ups, no telemetry (read when huggingface_hub is imported).
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    try:
        import torch
        import transformers

        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # "no torchvision, using the PIL image processor"
        try:
            import diffusers
            from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline  # noqa: F401
        finally:
            transformers.logging.set_verbosity(verbosity)
        import huggingface_hub.constants
    except ImportError as e:
        raise ConfigError(
            f"config key '{key}.type': diffusers needs the diffusion extra ({e.name or e} cannot be imported). "
            f"To fix: {INSTALL}"
        ) from e
    huggingface_hub.constants.HF_HUB_OFFLINE = True  # also when it was imported before
    return torch, diffusers


def _device(torch, params: dict, key: str):
    device = params["device"]
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            built = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ConfigError(
                f"config key '{key}.device': {device} was asked for but torch {torch.__version__} ({built}) "
                "sees no CUDA device. To fix: set device: cpu, or run where a GPU and a CUDA build of torch are"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"config key '{key}.device': {device}, but torch sees {torch.cuda.device_count()} GPU(s)")
    return device, getattr(torch, params["dtype"])


def _load(cls, folder: Path, device: str, dtype, key: str, loaded: dict | None):
    loaded = {} if loaded is None else loaded
    ident = (str(folder.resolve()), cls.__name__, device, str(dtype))
    if ident in loaded:
        return loaded[ident]
    try:
        with _quiet():
            pipe = cls.from_pretrained(
                str(folder),
                local_files_only=True,
                dtype=dtype,
                safety_checker=None,
                requires_safety_checker=False,
            )
        pipe = pipe.to(device)
    except Exception as e:  # noqa: BLE001 - whatever diffusers raises, say which model and key
        raise ModelError(
            f"cannot load the diffusers pipeline in {folder} (config key '{key}.model') as {cls.__name__}: "
            f"{' '.join(str(e).split())[:500]}. To fix: write the folder again with save_pretrained "
            f"(all of unet/, vae/, text_encoder/, tokenizer/, scheduler/ and their weights)"
        ) from e
    pipe.set_progress_bar_config(disable=True)
    loaded[ident] = pipe
    return pipe


class _quiet:
    """No progress bars or chatter from diffusers/transformers while a pipeline loads."""

    def __enter__(self):
        import diffusers.utils.logging as dlog
        import transformers.utils.logging as tlog

        self.saved = [(m, m.is_progress_bar_enabled(), m.get_verbosity()) for m in (dlog, tlog)]
        for m, _, _ in self.saved:
            m.disable_progress_bar()
            m.set_verbosity_error()

    def __exit__(self, *exc):
        for m, bars, verbosity in self.saved:
            (m.enable_progress_bar if bars else m.disable_progress_bar)()
            m.set_verbosity(verbosity)
