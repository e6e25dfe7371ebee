"""`inspire train dataset|unet|generator|export`."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import ConfigError
from ..paths import package_models_dir, shared_dir

EXPORTS = {
    "unet": (
        ".cache/runs/unet/best.pt",
        "inspire_unet_camvid.onnx",
        "mask UNet (strided 4x4 stem, then 16-32-64 at half resolution, logits upsampled)",
    ),
    "generator": (".cache/runs/generator/best.pt", "inspire_gen_camvid.onnx", "conditional GAN generator"),
    "segmenter": (".cache/runs/svia_segmenter/best.pt", "svia_segmenter_camvid.onnx", "SVIA segmenter (11 classes)"),
    "inpainter": (".cache/runs/svia_inpainter/best.pt", "svia_inpainter_camvid.onnx", "SVIA inpainter"),
    "harmonizer": (".cache/runs/svia_harmonizer/best.pt", "svia_harmonizer_camvid.onnx", "SVIA harmonizer"),
}


def run(args) -> int:
    if args.train_command == "dataset":
        from ..train.dataset import build

        root = Path(args.root) if args.root else shared_dir() / "data" / "camvid"
        for split in args.splits:
            report = build(args.source, root, split, Path(args.out), args.size, args.min_area, args.min_side)
            print(f"{split}: {json.dumps(report.to_dict())}")
        print(f"inspire: dataset written to {args.out}")
        return 0
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise ConfigError("training needs the torch extra: pip install -e '.[torch]'") from e
    if args.train_command in ("unet", "generator"):
        from ..train import gan, unet

        run = _run_options(args)
        extra = {"widths": tuple(args.widths)} if args.widths else {}
        if args.train_command == "unet":
            summary = unet.train(Path(args.data), Path(args.out), run, stem=args.stem, **extra)
        else:
            summary = gan.train(
                [Path(d) for d in args.data], Path(args.out), run, augment=not args.no_augment, l1=args.l1,
                feature_matching=args.fm, init=Path(args.init) if args.init else None, **extra,
            )  # fmt: skip
        last = summary["history"][-1] if summary["history"] else {}
        print(f"inspire: {args.train_command} at step {summary['steps']} in {args.out}: {json.dumps(last)}")
        return 0
    if args.train_command in ("segmenter", "inpainter", "harmonizer"):
        from ..train import scene

        root = Path(args.root) if args.root else shared_dir() / "data" / "camvid"
        summary = scene.train(
            args.train_command, root, Path(args.out), _run_options(args), lr=args.lr,
            balance=getattr(args, "balance", 1.0), init=Path(args.init) if args.init else None,
        )  # fmt: skip
        last = summary["history"][-1] if summary["history"] else {}
        print(f"inspire: {args.train_command} at step {summary['steps']} in {args.out}: {json.dumps(last)}")
        return 0
    from ..train.export import export

    default_weights, default_name, what = EXPORTS[args.kind]
    weights = Path(args.weights or default_weights)
    out = Path(args.out) if args.out else package_models_dir() / default_name
    manifest = None
    if not args.no_manifest:
        manifest = {
            "licence": "trained on CamVid (CC BY-NC 4.0): research use only",
            "source": f"inspire_ros {what}, `inspire train {args.kind}` on CamVid train (367 frames)",
            **({"training": _history(weights)} if args.kind in ("segmenter", "inpainter", "harmonizer") else {}),
            "url": None,
        }
    sha = export(args.kind, weights, out, manifest=manifest)
    print(f"inspire: exported {weights} -> {out} (sha256 {sha})")
    return 0


def _run_options(args):
    from ..train.loop import RunOptions

    return RunOptions(
        steps=args.steps, minutes=args.minutes, batch=args.batch, resume=args.resume, force=args.force,
        eval_every=getattr(args, "eval_every", 200), threads=args.threads,
    )  # fmt: skip


def _history(weights: Path) -> dict:
    """Steps and the last validation figures of a scene block's run, for its manifest entry."""
    path = weights.parent / "history.json"
    if not path.exists():
        return {}
    history = json.loads(path.read_text())
    if not history:
        return {}
    # best.pt is the best validation point, not necessarily the last one.
    best = max(history, key=lambda h: h["miou"]) if "miou" in history[0] else min(history, key=lambda h: h["loss"])
    return {"steps_run": history[-1]["step"], "best_validation": best}
