"""`inspire coverage`: ground-truth people and cars left unreplaced per preset, on sequences
processed as the product processes them (in order, tracker, look-ahead), and the cost."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import EXIT_OK, EXIT_USAGE, counts_at_least_one


def add_parser(sub) -> None:
    from ..config import PRESETS

    c = sub.add_parser("coverage", help="ground-truth people/cars left unreplaced per preset, on whole sequences")
    names = ", ".join(PRESETS)
    c.add_argument(
        "--presets",
        nargs="+",
        choices=list(PRESETS),
        default=list(PRESETS),
        metavar="P",
        help=f"presets to compare ({names}; default all)",
    )
    c.add_argument("--config", help="YAML config the presets fill (default: config/default.yaml)")
    c.add_argument("--pets-frames", type=int, metavar="N", help="PETS09 frames 0..N-1 (default all 795)")
    c.add_argument(
        "--camvid",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CamVid val and test sequences (default on)",
    )
    c.add_argument("--camvid-frames", type=int, metavar="N", help="at most N frames per CamVid sequence (default all)")
    c.add_argument("--reid", action="store_true", help="PETS09 re-identification attack on the anonymized persons")
    c.add_argument("--utility", action="store_true", help="judge mAP@0.5 and counting accuracy on anonymized frames")
    c.add_argument("--seed", type=int, default=0, help="seed of the synthesized instances (default 0)")
    c.add_argument("--json", metavar="FILE", help="write every figure to this JSON file (atomically)")
    c.add_argument("--shared", help="shared data and models folder (default: $INSPIRE_SHARED or ../shared)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..eval.coverage import evaluate, tables, write_json

    if not counts_at_least_one(args, "pets_frames", "camvid_frames"):
        return EXIT_USAGE
    started = time.perf_counter()
    report = evaluate(
        presets=args.presets,
        config_path=Path(args.config) if args.config else None,
        pets_frames=args.pets_frames,
        camvid=args.camvid,
        camvid_frames=args.camvid_frames,
        with_reid=args.reid,
        with_utility=args.utility,
        seed=args.seed,
        shared=Path(args.shared) if args.shared else None,
        progress=not args.quiet,
    )
    if args.json:
        write_json(Path(args.json), report)
    print(tables(report))
    failed = sum(d["frames_failed"] for r in report["presets"].values() for d in r["datasets"].values())
    if failed:
        print(f"inspire: warning: {failed} frame(s) failed and were blanked (counted as not leaked)", file=sys.stderr)
    where = f", wrote {args.json}" if args.json else ""
    print(f"coverage done in {time.perf_counter() - started:.0f} s{where}")
    return EXIT_OK
