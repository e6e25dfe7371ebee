"""`inspire eval scene`: SVIA's place/sequence privacy, image quality, person similarity and
utility on CamVid, as report.json, summary.md and an example grid PNG.

`inspire eval` takes no subcommands of its own, so main() hands `eval scene ...` to the
`eval-scene` command registered here (both spellings work)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import EXIT_OK, EXIT_USAGE, counts_at_least_one

COMMAND = "eval-scene"


def add_parser(sub) -> None:
    from ..eval.scene import METHODS

    s = sub.add_parser(
        COMMAND,
        prog="inspire eval scene",
        help="(also `inspire eval scene`) SVIA on CamVid: place and sequence attacks, PerSim, mIoU, speed",
        description="SVIA's privacy and utility on CamVid val+test: location attack on ImageNet MobileNetV2 "
        "features, drive classifier, Fréchet/kernel distance, PerSim (OSNet), segmenter mIoU, judge mAP, "
        "seconds per frame; for the originals, svia, hybrid and blur/pixelate/fill inside SVIA's masks.",
    )
    s.add_argument("--out", default=".cache/eval_scene", help="output folder (default .cache/eval_scene)")
    s.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHODS),
        default=list(METHODS),
        metavar="M",
        help=f"methods ({', '.join(METHODS)}; default all; none, the reference, is always run)",
    )
    s.add_argument(
        "--noise",
        nargs="+",
        type=float,
        default=[],
        metavar="B",
        help="also run svia with these Laplace scales (a sweep, e.g. --noise 0 48 96 160)",
    )
    s.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="quick run: N consecutive frames from the middle of test and of val (default all 62 + 101)",
    )
    s.add_argument(
        "--train-frames",
        type=int,
        metavar="N",
        help="sequence classifier: N original train frames spread over the split (default all 367)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of the synthesized content (default 0)")
    s.add_argument("--config", help="YAML config of the methods (default: config/default.yaml)")
    s.add_argument("--shared", help="shared data and models folder (default: $INSPIRE_SHARED or ../shared)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..eval.scene import markdown_table, run_scene_eval, targets_table

    if not counts_at_least_one(args, "frames", "train_frames"):
        return EXIT_USAGE
    if any(b < 0 for b in args.noise):
        print("inspire: error: --noise scales must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    report = run_scene_eval(
        Path(args.out),
        shared=Path(args.shared) if args.shared else None,
        methods=args.methods,
        frames=args.frames,
        train_frames=args.train_frames,
        noise=args.noise,
        seed=args.seed,
        config_path=Path(args.config) if args.config else None,
        progress=not args.quiet,
    )
    print(markdown_table(report["headline"]))
    print()
    print(targets_table(report["targets"]))
    print(f"wrote {', '.join(report['files'])} to {args.out} in {time.perf_counter() - started:.0f} s")
    return EXIT_OK
