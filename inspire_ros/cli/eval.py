"""`inspire eval --out DIR`: privacy and utility of every method, as report.json, PNGs and markdown."""

from __future__ import annotations

import time
from pathlib import Path

from . import EXIT_OK


def run(args) -> int:
    from ..eval.report import markdown_table
    from ..eval.run import JudgeSettings, run_eval

    judge = JudgeSettings(
        config=args.judge_config, model=args.judge_model, input_size=args.judge_size, score_threshold=args.judge_score
    )
    started = time.perf_counter()
    report = run_eval(
        Path(args.out),
        mode=args.mode,
        methods=args.methods,
        shared=Path(args.shared) if args.shared else None,
        seed=args.seed,
        judge=judge,
        force=args.force,
        progress=not args.quiet,
        inversion_steps=args.inversion,
    )
    print(markdown_table(report["headline"]))
    print(f"wrote {', '.join(report['files'])} to {args.out} in {time.perf_counter() - started:.0f} s")
    return EXIT_OK
