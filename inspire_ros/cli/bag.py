"""`inspire bag sanitize|sanitize-many|verify|bench`: the command-line shell over inspire_ros.bag."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import config as config_mod
from ..io.media import MediaError
from ..paths import default_config_path
from . import EXIT_ERROR, EXIT_FRAMES_FAILED, EXIT_OK


def run(args) -> int:
    try:
        import rosbags  # noqa: F401 - only to give a helpful message when it is missing
    except ImportError as e:
        raise MediaError("the bag tool needs the rosbags library: pip install 'rosbags>=0.11.9,<0.12'") from e
    if args.bag_command == "sanitize":
        return _sanitize(args)
    if args.bag_command == "sanitize-many":
        return _sanitize_many(args)
    if args.bag_command == "bench":
        from ..bench.bag import run as bench

        return bench(args)
    return _verify(args)


def _overrides(args) -> dict:
    return {k: v for k, v in (("method", args.method), ("seed", args.seed)) if v is not None}


def _excluded(args) -> tuple[str, ...]:
    """--exclude-topics T ...: topics left out of the output (encoded video, say)."""
    return tuple(getattr(args, "exclude_topics", None) or ())


def _note(text: str) -> None:
    print(f"inspire: note: {text}", file=sys.stderr)


def _sanitize(args) -> int:
    from ..bag.sanitize import SanitizeOptions, sanitize
    from ..pipeline import Anonymizer

    src, dst = Path(args.input), Path(args.output)
    report_path = Path(args.report) if args.report else None
    if report_path and report_path.exists() and not args.force:
        raise FileExistsError(f"report {report_path} exists; pass --force to overwrite it")
    cfg = config_mod.load(Path(args.config) if args.config else default_config_path(), preset="thorough")
    overrides = _overrides(args)
    cfg = cfg.replace(**overrides) if overrides else cfg
    options = SanitizeOptions(
        topics=tuple(args.topics or ()),
        storage=args.storage,
        compression=args.compression,
        force=args.force,
        progress=not args.quiet,
        resume=args.resume,
        exclude_topics=_excluded(args),
    )
    report = sanitize(src, dst, Anonymizer(cfg), options, notify=_note)
    if report_path:
        report.write(report_path)
    for line in report.summary_lines():
        print(f"inspire: {line}")
    if report.frames_failed:
        print(
            f"inspire: warning: {report.frames_failed} frame(s) could not be anonymized and were "
            f"{'dropped' if cfg.on_error == 'drop' else 'blanked (or dropped)'}; see the summary above",
            file=sys.stderr,
        )
        return EXIT_FRAMES_FAILED
    return EXIT_OK


def _sanitize_many(args) -> int:
    from tqdm import tqdm

    from ..bag.batch import BatchSettings, plan_jobs, ray_available, sanitize_many
    from ..bag.sanitize import SanitizeOptions

    config = Path(args.config) if args.config else None
    overrides = _overrides(args)
    # Load and apply once here, so a bad config or override fails before any job starts.
    config_mod.load(config or default_config_path(), preset="thorough").replace(**overrides)
    inputs = [Path(p) for p in args.inputs]
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise MediaError(f"input(s) do not exist: {', '.join(missing)}")
    jobs = plan_jobs(inputs, Path(args.out), args.force, args.resume)
    ray_address = args.ray
    if ray_address and not ray_available():
        print("inspire: note: ray is not installed (pip install ray); using local processes", file=sys.stderr)
        ray_address = None
    if args.gpus_per_bag and not ray_address:
        print("inspire: note: --gpus-per-bag applies to Ray tasks only; ignored here", file=sys.stderr)
    options = SanitizeOptions(
        topics=tuple(args.topics or ()),
        storage=args.storage,
        compression=args.compression,
        force=args.force,
        resume=args.resume,  # per bag: only where an interrupted run left its journal
        exclude_topics=_excluded(args),
    )
    settings = BatchSettings(config, tuple(overrides.items()), options)
    bar = tqdm(total=len(jobs), unit="bag", desc=Path(args.out).name, disable=args.quiet)

    def show(result) -> None:
        detail = result.error or f"{result.frames} frame(s), {result.frames_failed} failed, {result.seconds:.1f} s"
        bar.write(f"inspire: {result.status}: {result.input} -> {result.output} ({detail})")
        bar.update()

    results = sanitize_many(
        jobs, settings, args.jobs, args.resume, ray_address, on_result=show, ray_gpus=args.gpus_per_bag
    )
    bar.close()
    failed = [r for r in results if r.status == "failed"]
    frames_failed = sum(r.frames_failed for r in results)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    print(f"inspire: {counts['done']} bag(s) sanitized, {counts['skipped']} skipped, {counts['failed']} failed")
    if failed:
        return EXIT_ERROR
    return EXIT_FRAMES_FAILED if frames_failed else EXIT_OK


def _verify(args) -> int:
    from ..bag.verify import load_report, verify

    report = load_report(Path(args.report)) if args.report else None
    result = verify(Path(args.input), Path(args.output), report)
    for line in result.lines():
        print(f"inspire: {line}")
    return EXIT_OK if result.ok else EXIT_ERROR
