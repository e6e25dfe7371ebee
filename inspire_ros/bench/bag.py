"""`inspire bag bench`: what sanitizing a bag costs next to the live chain, measured in one run.

A bag is built from N video frames at their native size (vtest.avi: 768x576) as rgb8 Image
messages at 10 Hz plus an IMU at 10x the camera rate, the way a recorder writes them. Then:
(a) the live chain, Anonymizer.anonymize, on the same decoded frames; (b) `sanitize` on the bag;
(c) a raw copy of the bag through the same sink (the floor: reading and writing, no images
touched); (d) peak RSS growth while sanitizing bags of N and 2N frames, each in a fresh process,
which must stay flat: the sanitizer streams, it never holds a bag in memory.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import config as config_mod
from ..bag.sink import BagSink, plan_output
from ..bag.source import BagSource
from ..errors import BagError
from ..io import media
from ..memory import status_mb
from ..paths import default_config_path, pets09_video
from .camera_bags import IMU_PER_FRAME, BagSpec, CameraBag, record_camera_bag

WARMUP = 3


@dataclass(frozen=True)
class SanitizeRun:
    frames: int
    seconds: float
    fps: float
    rss_before_mb: float  # after the models are loaded and warm
    rss_peak_mb: float
    rss_growth_mb: float
    peak_reset: bool  # False: the peak is the process's whole life (no /proc/self/clear_refs)


def video_frames(video: Path, n: int):
    """The first n frames of the video (BGR), starting over at its end when it is shorter."""
    produced = 0
    while produced < n:
        reader = media.VideoReader(video)
        try:
            for frame in reader:
                yield frame
                produced += 1
                if produced == n:
                    return
        finally:
            reader.close()


def build_bag(path: Path, video: Path, frames: int, storage: str = "mcap") -> CameraBag:
    """A rosbag2 bag: /camera/image_raw (rgb8, native size) at 10 Hz and /imu/data at 100 Hz."""
    spec = BagSpec(storage=storage, encoding="rgb8", width=None, camera_info=False, version=9)
    return record_camera_bag(path, video_frames(video, frames), spec)


def chain_fps(anonymizer, video: Path, frames: int) -> float:
    """Frames/s of Anonymizer.anonymize alone on the bag's frames, decoded from the same video."""
    for frame in video_frames(video, WARMUP):
        anonymizer.anonymize(frame)
    spent = 0.0
    for frame in video_frames(video, frames):
        t = time.perf_counter()
        anonymizer.anonymize(frame)
        spent += time.perf_counter() - t
    return frames / spent


def raw_copy(src: Path, dst: Path) -> tuple[int, float, float]:
    """(messages, megabytes, seconds) of copying every message as raw bytes through BagSink."""
    started = time.perf_counter()
    messages, size = 0, 0
    with BagSource(src) as source:
        sink = BagSink(plan_output(source.format, dst), dst, source.custom_data)
        try:
            outputs = {c.id: sink.add(c) for c in source.connections}
            for conn, timestamp, data in source.messages():
                sink.write(outputs[conn.id], timestamp, data)
                messages, size = messages + 1, size + len(data)
            sink.commit()
        except BaseException:
            sink.discard()
            raise
    return messages, size / 1e6, time.perf_counter() - started


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so the peak is this run's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def sanitize_in_fresh_process(src: Path, dst: Path, config: Path | None, video: Path) -> SanitizeRun:
    """Runs in its own (spawned) process: a fresh heap, so its peak RSS says what this bag cost."""
    from ..bag.sanitize import SanitizeOptions, sanitize
    from ..pipeline import Anonymizer

    anonymizer = Anonymizer.from_config(config, preset="thorough")  # what bag sanitize runs
    for frame in video_frames(video, WARMUP):  # onnxruntime allocates its arenas on the first frames
        anonymizer.anonymize(frame)
    reset = _reset_peak()
    before = status_mb("VmRSS") or 0.0
    report = sanitize(src, dst, anonymizer, SanitizeOptions(progress=False))
    peak = (status_mb("VmHWM") if reset else None) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return SanitizeRun(
        frames=report.frames_in,
        seconds=round(report.seconds, 3),
        fps=round(report.frames_in / report.seconds, 2),
        rss_before_mb=round(before, 1),
        rss_peak_mb=round(peak, 1),
        rss_growth_mb=round(max(peak - before, 0.0), 1),
        peak_reset=reset,
    )


def _in_child(fn, *args):
    # spawn, not fork: a forked child would start with the parent's heap and its peak.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def bench(frames: int, video: Path, config: Path | None, storage: str = "mcap") -> dict:
    from ..pipeline import Anonymizer

    if frames < 1:
        raise BagError(f"--frames must be at least 1, got {frames}")
    cfg = config_mod.load(config or default_config_path(), preset="thorough")
    with tempfile.TemporaryDirectory(prefix="inspire-bag-bench-") as tmp:
        folder = Path(tmp)
        bag_n = build_bag(folder / "bag_n", video, frames, storage)
        anonymizer = Anonymizer(cfg)
        fps_chain = chain_fps(anonymizer, video, frames)
        provider = anonymizer.detector.provider
        del anonymizer
        run_n = _in_child(sanitize_in_fresh_process, bag_n.path, folder / "out_n", config, video)
        copy_messages, copy_mb, copy_s = raw_copy(bag_n.path, folder / "copy_n")
        bag_2n = build_bag(folder / "bag_2n", video, 2 * frames, storage)
        run_2n = _in_child(sanitize_in_fresh_process, bag_2n.path, folder / "out_2n", config, video)
        with BagSource(bag_n.path) as source:
            described = source.format.describe()
    return {
        "video": str(video),
        "resolution": f"{bag_n.width}x{bag_n.height}",
        "encoding": "rgb8",
        "frames": frames,
        "imu_per_frame": IMU_PER_FRAME,
        "bag": described,
        "bag_messages": bag_n.messages,
        "bag_mb": round(bag_n.megabytes, 1),
        "method": cfg.method,
        "provider": provider,
        "chain_fps": round(fps_chain, 2),
        "sanitize_fps": run_n.fps,
        "sanitize_over_chain": round(run_n.fps / fps_chain, 3),
        "copy_messages_per_s": round(copy_messages / copy_s, 1),
        "copy_mb_per_s": round(copy_mb / copy_s, 1),
        "copy_seconds": round(copy_s, 3),
        "sanitize_n": asdict(run_n),
        "sanitize_2n": asdict(run_2n),
        "rss_growth_mb": {"n": run_n.rss_growth_mb, "2n": run_2n.rss_growth_mb},
    }


def table(f: dict) -> list[str]:
    n, n2 = f["sanitize_n"], f["sanitize_2n"]
    ratio = f"{f['rss_growth_mb']['2n'] / f['rss_growth_mb']['n']:.2f}" if f["rss_growth_mb"]["n"] else "-"
    return [
        f"inspire bag bench: {Path(f['video']).name} {f['resolution']} {f['encoding']}, {f['frames']} frames + "
        f"IMU at {f['imu_per_frame']}x, {f['bag']}, {f['bag_messages']} messages, {f['bag_mb']} MB; "
        f"method {f['method']}, {f['provider']}",
        f"  {'what':44s} {'throughput':>22s}",
        f"  {'(a) live chain (Anonymizer.anonymize)':44s} {f['chain_fps']:>15.2f} frames/s",
        f"  {'(b) sanitize, bag to bag':44s} {f['sanitize_fps']:>15.2f} frames/s"
        f"   sanitize / chain = {f['sanitize_over_chain']:.3f}",
        f"  {'(c) raw copy, every message as bytes':44s} {f['copy_messages_per_s']:>15.1f} msgs/s"
        f"   {f['copy_mb_per_s']:.1f} MB/s",
        f"  {'(d) peak RSS growth, sanitize ' + str(n['frames']) + ' frames':44s} {n['rss_growth_mb']:>18.1f} MB"
        f"   (from {n['rss_before_mb']} MB)",
        f"  {'    peak RSS growth, sanitize ' + str(n2['frames']) + ' frames':44s} {n2['rss_growth_mb']:>18.1f} MB"
        f"   (from {n2['rss_before_mb']} MB; 2N / N = {ratio}; {n2['fps']:.2f} frames/s)",
    ]


def run(args) -> int:
    video = Path(args.video) if args.video else pets09_video()
    if not video.is_file():
        raise BagError(f"video {video} does not exist: pass --video or set INSPIRE_SHARED")
    figures = bench(args.frames, video, Path(args.config) if args.config else None, args.storage)
    for line in table(figures):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0
