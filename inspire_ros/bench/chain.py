"""`inspire bench`: per-stage milliseconds and fps of the chain vs the detector alone,
measured in one run on the same frames, plus peak memory."""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from .. import config as config_mod
from ..crop import crop_batch
from ..io import media
from ..paths import default_config_path, pets09_video
from ..pipeline import STAGES, Anonymizer
from ..sequence import Stream, overlapped


def block_costs(anonymizer: Anonymizer, frame, sizes=(1, 4, 8, 16), repeats: int = 20) -> dict:
    """Milliseconds of the category's extractor and generator per batch of n instances, at
    crop_size (key: the category) and, where set, at large_crop_size (key: "<category>@<size>")."""
    detections = anonymizer.detector.detect(frame)
    out = {}
    for category in anonymizer.cfg.categories:
        dets = [d for d in detections if d.category == category]
        if not dets:
            continue
        cat = anonymizer.cfg.categories[category]
        extractor, generator = anonymizer.extractors[category], anonymizer.generators[category]
        for size in (cat.crop_size, cat.large_crop_size):
            if size is None:
                continue
            rows = {}
            for n in sizes:
                batch = crop_batch(frame, category, [dets[i % len(dets)] for i in range(n)], size)
                features = extractor.extract(batch)
                latents = anonymizer.rng.standard_normal((n, generator.latent_dim), dtype=np.float32)
                t = time.perf_counter()
                for _ in range(repeats):
                    extractor.extract(batch)
                t_ex = (time.perf_counter() - t) / repeats * 1000
                t = time.perf_counter()
                for _ in range(repeats):
                    generator.generate(category, features.masks, features.edges, latents)
                rows[n] = (round(t_ex, 3), round((time.perf_counter() - t) / repeats * 1000, 3))
            out[category if size == cat.crop_size else f"{category}@{size}"] = rows
    return out


def _overlapped_seconds_per_frame(anonymizer: Anonymizer, video: Path, count: int, warmup: int) -> float:
    """Seconds per frame of the chain as `inspire anonymize` runs a stream frame by frame
    (sequence.overlapped: the next frame's detection overlaps this frame's replacement), on
    the same frames held in memory (no decoding in the figure, as for the chain's)."""
    reader = media.VideoReader(video)
    frames = [f for _, f in zip(range(count + warmup), reader, strict=False)]
    reader.close()
    stream = Stream(anonymizer, salt=0)
    results = overlapped(stream, frames, lambda f: f)
    for _ in zip(range(warmup), results, strict=False):
        pass
    t = time.perf_counter()
    n = sum(1 for _ in results)
    return (time.perf_counter() - t) / max(n, 1)


def run(args) -> int:
    video = Path(args.video) if args.video else pets09_video()
    cfg = config_mod.load(Path(args.config) if args.config else default_config_path())
    if args.method:
        cfg = cfg.replace(method=args.method)
    reader = media.VideoReader(video)
    anonymizer = Anonymizer(cfg)
    warmup = 5
    stage_ms: dict[str, float] = {}
    det_s = chain_s = decode_s = encode_s = 0.0
    instances = count = 0
    # Streamed, one frame at a time: the detector alone and the chain run on the same frame
    # back to back, so both see the same content and the same machine noise, and memory is
    # what a long video costs, not a frame cache.
    with tempfile.TemporaryDirectory() as tmp:
        writer = media.VideoWriter(Path(tmp) / "bench.mp4", reader.info)
        frames = iter(reader)
        for i in range(args.frames + warmup):
            t0 = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            t1 = time.perf_counter()
            anonymizer.detector.detect(frame)
            t2 = time.perf_counter()
            timings = stage_ms if i >= warmup else {}
            out, inst = anonymizer.anonymize(frame, timings)
            t3 = time.perf_counter()
            writer.write(out)
            t4 = time.perf_counter()
            if i >= warmup:
                decode_s, det_s, chain_s, encode_s = (
                    decode_s + t1 - t0,
                    det_s + t2 - t1,
                    chain_s + t3 - t2,
                    encode_s + t4 - t3,
                )
                instances += len(inst)
                count += 1
        writer.close()
    reader.close()
    if count == 0:
        raise media.MediaError(f"{video} has fewer than {warmup + 1} frames")
    # Peak memory of the streamed chain, before the overlapped pass holds its frames in memory.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    overlapped_s = _overlapped_seconds_per_frame(anonymizer, video, count, warmup)
    stages = {s: stage_ms.get(s, 0.0) / count for s in STAGES}
    det_s, chain_s = det_s / count, chain_s / count
    decode_ms, encode_ms = decode_s / count * 1000, encode_s / count * 1000
    io_ms = decode_ms + encode_ms
    end_to_end_ms = chain_s * 1000 + io_ms
    h, w = out.shape[:2]
    figures = {
        "video": str(video),
        "resolution": f"{w}x{h}",
        "frames": count,
        "method": cfg.method,
        "provider": anonymizer.detector.provider,
        "instances_per_frame": round(instances / count, 2),
        "stage_ms": {**{k: round(v, 2) for k, v in stages.items()}, "io": round(io_ms, 2)},
        "io_ms": {"decode": round(decode_ms, 2), "encode": round(encode_ms, 2)},
        "detector_fps": round(1 / det_s, 1),
        "chain_fps": round(1 / chain_s, 1),
        "end_to_end_fps": round(1000 / end_to_end_ms, 1),
        "chain_over_detector": round(chain_s / det_s, 3),
        "overlapped_fps": round(1 / overlapped_s, 1),
        "overlapped_over_detector": round(overlapped_s / det_s, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "opencv_threads": cv2.getNumThreads(),
        "numpy": np.__version__,
    }
    print(f"inspire bench: {video.name} {w}x{h}, {count} frames, method {cfg.method}, {figures['provider']}")
    print(f"  instances/frame   {figures['instances_per_frame']}")
    for k, v in figures["stage_ms"].items():
        print(f"  {k:9s} {v:8.2f} ms")
    print(f"  detector alone    {figures['detector_fps']} fps")
    print(f"  chain             {figures['chain_fps']} fps   (chain / detector = {figures['chain_over_detector']}x)")
    print(
        f"  overlapped        {figures['overlapped_fps']} fps   (detection of frame t+1 during the replacement of t:"
        f" {figures['overlapped_over_detector']}x the detector)"
    )
    print(f"  with video I/O    {figures['end_to_end_fps']} fps")
    print(f"  peak RSS          {figures['peak_rss_mb']} MB")
    if cfg.method == "inspire":
        figures["block_ms_per_batch"] = blocks = block_costs(anonymizer, frame if frame is not None else out)
        for category, rows in blocks.items():
            cells = "  ".join(f"n={n}: {e:.2f}+{g:.2f}" for n, (e, g) in rows.items())
            print(f"  {category} extract+generate ms per batch   {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0
