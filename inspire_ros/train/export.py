"""Export trained blocks to ONNX, check them against torch, record them in the manifest."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import yaml

from .. import model_store
from .models import Generator, MaskUNet

SPECS = {
    "unet": {
        "inputs": ["image", "category"],
        "outputs": ["logits"],
        "input": {"image": "[N,3,S,S] float32 BGR/255", "category": "[N] float32: 0 person, 1 car"},
        "output": {"logits": "[N,1,S,S] float32 mask logits (> 0 is the object)"},
    },
    "generator": {
        "inputs": ["cond", "latent"],
        "outputs": ["image"],
        "input": {
            "cond": "[N,3,S,S] float32: mask, edges, category plane (0 person, 1 car); S any multiple of 32",
            "latent": "[N,Z] float32 ~ N(0,1)",
        },  # fmt: skip
        "output": {"image": "[N,3,S,S] float32 BGR in [-1,1]"},
    },
}


SPECS.update(
    {
        "segmenter": {
            "inputs": ["image"],
            "outputs": ["logits"],
            "input": {"image": "[N,3,H,W] float32 BGR/255, H and W multiples of 16"},
            "output": {"logits": "[N,11,H,W] float32 CamVid class scores (svia.classes.CAMVID_CLASSES)"},
        },
        "inpainter": {
            "inputs": ["image", "mask", "category", "noise"],
            "outputs": ["image_out"],
            "input": {
                "image": "[N,3,H,W] float32 BGR/255, Laplace-noised inside the masks",
                "mask": "[N,1,H,W] float32 {0,1}: the region to synthesize",
                "category": "[N,10] float32 one-hot (svia.classes.CATEGORY_NAMES)",
                "noise": "[N] float32 Laplace scale / 255",
            },
            "output": {"image_out": "[N,3,H,W] float32 BGR in [0,1], region synthesized"},
        },
        "harmonizer": {
            "inputs": ["image", "mask"],
            "outputs": ["image_out"],
            "input": {"image": "[N,3,H,W] float32 BGR/255 composite", "mask": "[N,1,H,W] float32 edited regions"},
            "output": {"image_out": "[N,3,H,W] float32 BGR in [0,1]"},
        },
    }
)
SCENE_KINDS = ("segmenter", "inpainter", "harmonizer")


def _example(kind: str, model: torch.nn.Module, n: int, size: int) -> tuple:
    if kind == "unet":
        return (torch.rand(n, 3, size, size), torch.tensor([0.0, 1.0, 0.0]))
    if kind == "generator":
        return ((torch.rand(n, 3, size, size) > 0.5).float(), torch.randn(n, model.latent_dim))
    h, w = 96, 128  # any multiple of 16 (dynamic axes)
    image = torch.rand(n, 3, h, w)
    if kind == "segmenter":
        return (image,)
    mask = (torch.rand(n, 1, h, w) > 0.5).float()
    if kind == "harmonizer":
        return (image, mask)
    category = torch.nn.functional.one_hot(torch.arange(n) % 10, 10).float()
    return (image, mask, category, torch.rand(n))


def load_weights(kind: str, weights: Path) -> torch.nn.Module:
    if kind in SCENE_KINDS:
        from .scene import build

        model = build(kind)
    else:
        path = weights.parent / "arch.json"  # written by the training run
        arch = json.loads(path.read_text()) if path.exists() else {}
        if kind == "unet":
            model = MaskUNet(tuple(arch.get("widths", MaskUNet.ARCH["widths"])), arch.get("stem", 1))
        else:
            model = Generator(widths=tuple(arch.get("widths", Generator.WIDTHS)))
    state = torch.load(weights, map_location="cpu", weights_only=True)
    if kind == "unet" and not any(k.startswith("unet.") for k in state):
        state = {f"unet.{k}": v for k, v in state.items()}  # weights of the plain UNet layout
    model.load_state_dict(state)
    return model.eval()


def export(kind: str, weights: Path, out: Path, size: int = 64, manifest: dict | None = None) -> str:
    """Write `out` (ONNX), verify onnxruntime matches torch, return its sha256; with
    `manifest` (licence, source, training notes) also add/replace its manifest entry."""
    model = load_weights(kind, weights)
    args = _example(kind, model, 3, size)
    spec = SPECS[kind]
    # The scene blocks and the generator are fully convolutional: any H, W (multiples of 16/32).
    spatial = kind in SCENE_KINDS or kind == "generator"
    axes = {0: "N", 2: "H", 3: "W"} if spatial else {0: "N"}
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(
        model,
        args,
        str(tmp),
        input_names=spec["inputs"],
        output_names=spec["outputs"],
        dynamic_axes={
            name: axes if spatial and name not in ("category", "noise", "latent") else {0: "N"}
            for name in spec["inputs"] + spec["outputs"]
        },
        opset_version=17,
        dynamo=False,
    )
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    # The generator serves several crop sizes: check the exported graph at two of them.
    checks = [args, _example(kind, model, 2, 2 * size)] if kind == "generator" else [args]
    err = 0.0
    for check in checks:
        got = session.run(None, {name: a.numpy() for name, a in zip(spec["inputs"], check, strict=True)})[0]
        with torch.no_grad():
            want = model(*check).numpy()
        err = max(err, float(np.abs(got - want).max()))
    if err > 1e-3:
        tmp.unlink()
        raise RuntimeError(f"ONNX export of {kind} differs from torch by {err}")
    tmp.replace(out)
    sha = model_store.sha256_of(out)
    if manifest is not None:
        update_manifest(out.name, {"sha256": sha, **manifest, "input": spec["input"], "output": spec["output"],
                                   "exported": datetime.date.today().isoformat()})  # fmt: skip
    return sha


def update_manifest(name: str, entry: dict) -> None:
    """Replace one entry, keeping the file's header comment."""
    path = model_store.manifest_path()
    text = path.read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    data = yaml.safe_load(text)
    data["models"][name] = entry
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=110))
