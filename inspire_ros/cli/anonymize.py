"""`inspire anonymize INPUT OUTPUT`: images, image folders and videos."""

from __future__ import annotations

import json
import os
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
from ..sequence import Stream, detect_all, overlapped, stream_salt
from ..track.receipt import coverage_line
from ..types import FrameStatus
from . import EXIT_FRAMES_FAILED, EXIT_OK


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inside(inner: Path, outer: Path) -> bool:
    return outer.resolve() in inner.resolve().parents


def _check_paths(src: Path, dst: Path, audit: Path | None, kind: str, force: bool) -> None:
    """Refuse, before anything is loaded or written, outputs that would clobber the input or
    each other, or that cannot become what the input needs."""
    out_kind = "folder" if dst.is_dir() or not dst.suffix else media.kind_of(dst, "output")
    if out_kind != kind:
        raise media.MediaError(f"input {src} is a {kind}: the output must be a {kind} too, not {dst}")
    if dst.exists() and not dst.is_dir() and kind == "folder":
        raise media.MediaError(f"output {dst} exists and is a file: a folder's output is a folder; choose another")
    if _same(src, dst):
        raise media.MediaError(f"input and output are the same path ({src}): choose another output")
    if kind == "folder" and _inside(src, dst):
        raise media.MediaError(f"input {src} is inside the output folder {dst}, which the output would replace")
    if audit is not None:
        if audit.is_dir():
            raise media.MediaError(f"--audit {audit} is a folder: give a file name (e.g. audit.json)")
        if _same(audit, src) or _same(audit, dst):
            raise media.MediaError(
                f"--audit {audit} is the {'input' if _same(audit, src) else 'output'}: choose another"
            )
        if kind == "folder" and _inside(audit, dst):
            raise media.MediaError(f"--audit {audit} is inside the output folder {dst}: put it elsewhere")
    for out in [dst] + ([audit] if audit else []):
        if out.exists() and not force:
            raise FileExistsError(f"output {out} exists; pass --force to overwrite it")


def _note(text: str) -> None:
    print(f"inspire: note: {text}", file=sys.stderr)


def run(args) -> int:
    # onnxruntime before any output exists: Ctrl-C inside its import fails it (an ImportError).
    from .. import onnx_session  # noqa: F401

    src, dst = Path(args.input), Path(args.output)
    audit_path = Path(args.audit) if args.audit else None
    if not src.exists():
        raise media.MediaError(f"input {src} does not exist")
    kind = media.kind_of(src)
    _check_paths(src, dst, audit_path, kind, args.force)

    cfg_path = Path(args.config) if args.config else default_config_path()
    # Offline: the thorough preset (tiles, tracker, look-ahead) unless the config names another.
    cfg = config_mod.load(cfg_path, preset="thorough")
    overrides = {k: v for k, v in (("method", args.method), ("seed", args.seed)) if v is not None}
    cfg = cfg.replace(**overrides) if overrides else cfg
    # Open (and so validate) the input before the models load: a bad file fails fast.
    reader = media.VideoReader(src) if kind == "video" else None
    image = media.read_image(src, cfg.max_frame_pixels) if kind == "image" else None  # damaged single image: exit 2
    if reader is not None and reader.info.width * reader.info.height > cfg.max_frame_pixels:
        reader.close()
        raise media.MediaError(
            f"{src} has {reader.info.width}x{reader.info.height} frames, more than max_frame_pixels "
            f"({cfg.max_frame_pixels}); raise max_frame_pixels in the config if frames this large are expected"
        )
    files = media.folder_images(src) if kind == "folder" else [src]

    outputs: list[media.AtomicPath] = []
    try:
        # The temporaries now: an unwritable output stops the run before the models load.
        out = media.AtomicPath(dst, directory=(kind == "folder"), into=outputs)
        audit_out = media.AtomicPath(audit_path, into=outputs) if audit_path else None
        for stale in (p for o in outputs for p in o.removed):
            _note(f"removed {stale}: a temporary file left by an interrupted run")
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
            missing = _video(anonymizer, reader, src, out, audit, args)
            wrote = True
        else:
            missing = 0
            wrote = _images(anonymizer, files, image, out, kind, audit, args)
        frames = audit["frames"]
        counts = Counter(i["category"] for f in frames for i in f["instances"])
        failed = [f for f in frames if f["status"] != FrameStatus.OK]
        audit["summary"] = {
            "frames": len(frames),
            "frames_failed": len(failed) + missing,
            "frames_missing": missing,
            "instances": dict(counts),
            "seconds": round(time.perf_counter() - started, 3),
        }
        if audit_out is not None:
            try:
                audit_out.tmp.write_text(json.dumps(audit, indent=1))
            except OSError as e:
                raise media.MediaError(media.os_error_message(e, f"cannot write audit {audit_path}")) from e
        if wrote:
            out.commit()
        if audit_out is not None:
            audit_out.commit()
    finally:
        if reader is not None:
            reader.close()
        for o in outputs:
            o.discard()

    summary = ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) or "no instances"
    if wrote:
        print(f"inspire: wrote {dst} ({len(frames)} frame(s), replaced {summary}, method {cfg.method})")
        if "coverage" in audit:
            print(f"inspire: {coverage_line(audit['coverage'], cfg.preset)}")
    else:
        print(f"inspire: {dst} not written: the image could not be anonymized and on_error is drop")
    if failed:
        how = " or ".join(sorted({f["status"] for f in failed}))
        print(f"inspire: warning: {len(failed)} frame(s) could not be anonymized and were {how} "
              f"(first: {failed[0]['error']})", file=sys.stderr)  # fmt: skip
    if missing:
        gap = audit["missing_frames"]
        print(f"inspire: warning: {missing} frame(s) of {src} could not be decoded and are not in the output "
              f"(frames {gap['first']}-{gap['first'] + missing - 1}: {gap['error']})", file=sys.stderr)  # fmt: skip
    return EXIT_FRAMES_FAILED if failed or missing else EXIT_OK


def _record(audit: dict, index: int, name: str | None, instances, error: str | None, status: FrameStatus) -> None:
    entry = {
        "index": index,
        "status": FrameStatus.OK if error is None else status,
        "instances": [i.to_dict() for i in instances],
    }
    if name:
        entry["name"] = name
    if error:
        entry["error"] = error
    audit["frames"].append(entry)


def _video(anonymizer: Anonymizer, reader: media.VideoReader, src: Path, out: media.AtomicPath, audit: dict, args):
    """Both passes; returns how many frames the container promised that did not decode."""
    info = reader.info
    audit["video"] = {"fps": info.fps, "width": info.width, "height": info.height}
    limit = args.max_frames
    total = min(info.frames, limit) if limit and info.frames else info.frames
    writer = None
    try:
        detected = None
        if anonymizer.cfg.lookahead.enabled:
            # Pass 1: the detector over every frame, so that pass 2 knows where each track is
            # before and after the frames the detector found it in.
            bar = tqdm(total=total or None, unit="frame", desc=f"{out.final.name} (detect)", disable=args.quiet)
            detected = detect_all(anonymizer, (f for f, _ in _limited(reader, limit)), bar.update)
            bar.close()
            reader.close()
            reader = media.VideoReader(src)
        stream = Stream(anonymizer, detected, stream_salt(anonymizer.cfg.seed, str(src)))
        writer = media.VideoWriter(out.tmp, info, shown=out.final)
        bar = tqdm(total=total or None, unit="frame", desc=out.final.name, disable=args.quiet)
        count = 0
        # The detection of frame i+1 overlaps the replacement of frame i (sequence.overlapped).
        # A concealed or partly decoded frame is never passed on, nor worth anonymizing.
        frames = overlapped(stream, _limited(reader, limit), lambda item: None if item[1] else item[0])
        for i, ((frame, report), done) in enumerate(frames):
            result, instances, error = done if done is not None else (None, [], f"decoder: {report}")
            # A video keeps its timing: a failed frame is always blanked, never dropped.
            writer.write(result if result is not None else np.zeros_like(frame))
            _record(audit, i, None, instances, error, FrameStatus.BLANKED)
            bar.update()
            count += 1
        bar.close()
        writer.close()
        writer.check()
        writer = None
        if reader.open_report:  # said while probing the file, not about one frame
            audit["decoder_notes"] = reader.open_report
        audit["coverage"] = stream.receipt.to_dict()
        missing = max(0, total - count)
        if missing:
            why = reader.end_report or "the decoder found no more frames"
            audit["missing_frames"] = {
                "first": count,
                "count": missing,
                "error": f"the container holds {info.frames} frames, {count} decoded ({why})",
            }
        return missing
    finally:
        if writer is not None:
            writer.close()
        reader.close()


def _limited(reader: media.VideoReader, max_frames: int | None):
    for i, item in enumerate(reader.frames()):
        if max_frames and i >= max_frames:
            return
        yield item


def _images(anonymizer: Anonymizer, files: list[Path], image, out: media.AtomicPath, kind: str, audit: dict, args):
    """Returns whether there is an output to commit (a dropped single image leaves none)."""
    on_error = anonymizer.cfg.on_error
    wrote = False
    bar = tqdm(files, unit="image", desc=out.final.name, disable=args.quiet or kind == "image")
    for i, path in enumerate(bar):
        name = path.name if kind == "folder" else None
        target = out.tmp / path.name if kind == "folder" else out.tmp
        try:
            frame = image if image is not None else media.read_image(path, anonymizer.cfg.max_frame_pixels)
        except media.CorruptImage as e:  # damaged: blanked at its size when the header gives it
            result, instances, error = (e.blank() if on_error == "blank" else None), [], str(e)
        except media.MediaError as e:  # nothing decodes: nothing to blank
            result, instances, error = None, [], str(e)
        else:
            # Images are independent (a folder is not assumed to be a sequence): frame by frame.
            result, instances, error = anonymizer.anonymize_or_blank(frame)
        if result is not None:
            media.write_image(target, result, shown=out.final / path.name if kind == "folder" else out.final)
            wrote = True
        _record(audit, i, name, instances, error, FrameStatus.BLANKED if result is not None else FrameStatus.DROPPED)
    bar.close()
    return wrote or kind == "folder"
