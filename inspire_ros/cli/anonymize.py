"""`inspire anonymize INPUT OUTPUT`: images, image folders and videos."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import __version__
from .. import config as config_mod
from ..io import media
from ..paths import default_config_path
from ..pipeline import Anonymizer
from ..sequence import Stream, detect_all, stream_salt
from .main import EXIT_FRAMES_FAILED, EXIT_OK


def run(args) -> int:
    src, dst = Path(args.input), Path(args.output)
    if not src.exists():
        raise media.MediaError(f"input {src} does not exist")
    kind = media.kind_of(src)
    out_kind = "folder" if dst.is_dir() or not dst.suffix else media.kind_of(dst)
    if out_kind != kind:
        raise media.MediaError(f"input {src} is a {kind}: the output must be a {kind} too, not {dst}")
    outputs = [dst] + ([Path(args.audit)] if args.audit else [])
    for out in outputs:
        if out.exists() and not args.force:
            raise FileExistsError(f"output {out} exists; pass --force to overwrite it")
    if src.resolve() == dst.resolve():
        raise media.MediaError("input and output are the same path")

    cfg_path = Path(args.config) if args.config else default_config_path()
    # Offline: the thorough preset (tiles, tracker, look-ahead) unless the config names another.
    cfg = config_mod.load(cfg_path, preset="thorough")
    overrides = {k: v for k, v in (("method", args.method), ("seed", args.seed)) if v is not None}
    cfg = cfg.replace(**overrides) if overrides else cfg
    # Open (and so validate) the input before the models load: a bad file fails fast.
    reader = media.VideoReader(src) if kind == "video" else None
    files = media.folder_images(src) if kind == "folder" else [src]
    if kind == "image":
        media.read_image(src)
    anonymizer = Anonymizer(cfg)

    audit = {
        "tool": f"inspire_ros {__version__}",
        "input": str(src),
        "output": str(dst),
        "config": str(cfg_path),
        "method": cfg.method,
        "preset": cfg.preset,
        "seed": cfg.seed,
        "protection_reduced": config_mod.reductions(cfg),
        "detector": {"model": cfg.detector.model, "provider": anonymizer.detector.provider},
        "frames": [],
    }
    started = time.perf_counter()
    if kind == "video":
        _video(anonymizer, reader, src, dst, audit, args)
    else:
        _images(anonymizer, files, dst, kind, audit, args)
    frames = audit["frames"]
    counts = Counter(i["category"] for f in frames for i in f["instances"])
    failed = [f for f in frames if f["status"] != "ok"]
    audit["summary"] = {
        "frames": len(frames),
        "frames_failed": len(failed),
        "instances": dict(counts),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.audit:
        tmp = media.AtomicPath(Path(args.audit))
        tmp.tmp.write_text(json.dumps(audit, indent=1))
        tmp.commit()
    summary = ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) or "no instances"
    print(f"inspire: wrote {dst} ({len(frames)} frame(s), replaced {summary}, method {cfg.method})")
    if failed:
        print(f"inspire: warning: {len(failed)} frame(s) could not be anonymized and were {cfg.on_error}ed "
              f"(first: {failed[0]['error']})", file=sys.stderr)  # fmt: skip
        return EXIT_FRAMES_FAILED
    return EXIT_OK


def _record(audit: dict, index: int, name: str | None, instances, error: str | None, on_error: str) -> None:
    entry = {
        "index": index,
        "status": "ok" if error is None else f"{on_error}ed",
        "instances": [i.to_dict() for i in instances],
    }
    if name:
        entry["name"] = name
    if error:
        entry["error"] = error
    audit["frames"].append(entry)


def _video(anonymizer: Anonymizer, reader: media.VideoReader, src: Path, dst: Path, audit: dict, args) -> None:
    info = reader.info
    audit["video"] = {"fps": info.fps, "width": info.width, "height": info.height}
    total = min(info.frames, args.max_frames) if args.max_frames else info.frames
    out = media.AtomicPath(dst)
    writer = None
    try:
        detected = None
        if anonymizer.cfg.lookahead.enabled:
            # Pass 1: the detector over every frame, so that pass 2 knows where each track is
            # before and after the frames the detector found it in.
            bar = tqdm(total=total or None, unit="frame", desc=f"{dst.name} (detect)", disable=args.quiet)
            detected = detect_all(anonymizer, _limited(reader, args.max_frames), bar.update)
            bar.close()
            reader.close()
            reader = media.VideoReader(src)
        stream = Stream(anonymizer, detected, stream_salt(anonymizer.cfg.seed, str(src)))
        writer = media.VideoWriter(out.tmp, info)
        bar = tqdm(total=total or None, unit="frame", desc=dst.name, disable=args.quiet)
        for i, frame in enumerate(_limited(reader, args.max_frames)):
            result, instances, error = stream.anonymize(frame, i)
            # A video keeps its timing: a failed frame is always blanked, never dropped.
            writer.write(result if result is not None else np.zeros_like(frame))
            _record(audit, i, None, instances, error, "blank")
            bar.update()
        bar.close()
        writer.close()
        writer = None
        audit["coverage"] = stream.receipt.to_dict()
        out.commit()
    finally:
        if writer is not None:
            writer.close()
        reader.close()
        out.discard()


def _limited(reader: media.VideoReader, max_frames: int | None):
    for i, frame in enumerate(reader):
        if max_frames and i >= max_frames:
            return
        yield frame


def _images(anonymizer: Anonymizer, files: list[Path], dst: Path, kind: str, audit: dict, args) -> None:
    out = media.AtomicPath(dst, directory=(kind == "folder"))
    try:
        bar = tqdm(files, unit="image", desc=dst.name, disable=args.quiet or kind == "image")
        for i, path in enumerate(bar):
            frame = media.read_image(path)
            # Images are independent (a folder is not assumed to be a sequence): frame by frame.
            result, instances, error = anonymizer.anonymize_or_blank(frame)
            target = out.tmp / path.name if kind == "folder" else out.tmp
            if result is not None:
                media.write_image(target, result)
            _record(audit, i, path.name if kind == "folder" else None, instances, error, anonymizer.cfg.on_error)
        if kind == "image" and not out.tmp.stat().st_size:
            return  # dropped: write nothing
        out.commit()
    finally:
        out.discard()
