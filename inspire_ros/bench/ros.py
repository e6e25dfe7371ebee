"""`inspire ros-bench`: what the ROS layer costs, measured in one run on the same frames.

1. direct: the chain called in this process on Image messages (decode, anonymize, re-encode:
   exactly the node's per-frame work), milliseconds per frame;
2. paired: frame by frame, the direct call and then the same frame through a real
   `anonymizer_node` process (publish -> anonymized message received), one at a time, so both
   see the same machine load. ROS overhead = median over frames of (end-to-end - direct);
3. paced: the frames at `--rate` Hz (a camera): end-to-end latency and frames lost;
4. flood: the frames at `--flood-rate` Hz (beyond the chain) for `--flood-seconds`: output rate
   vs the direct chain's frames per second, stale frames dropped, node memory;
5. echo: the same frames through a bare rclpy process that republishes each message (same QoS,
   same two hops): the DDS transport's share of the overhead, which no node code can remove.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException

from .. import config as config_mod
from ..io import media
from ..io.image_msgs import ImageStream
from ..paths import default_config_path, pets09_video
from ..pipeline import Anonymizer
from ..ros.node import camera_stream
from .harness import Client, NodeProcess, image_msg, ros_env, stamp_ns, status_values

CAM = "bench/image_raw"


def read_frames(video: Path, n: int) -> list[np.ndarray]:
    reader = media.VideoReader(video)
    frames = []
    for frame in reader:
        frames.append(frame)
        if len(frames) == n:
            break
    reader.close()
    return frames


def direct(stream: ImageStream, msgs: list) -> dict:
    for m in msgs[:3]:
        stream.process(m)  # warm-up: first onnxruntime runs allocate
    ms = []
    for m in msgs:
        t = time.perf_counter()
        stream.process(m)
        ms.append((time.perf_counter() - t) * 1000)
    return {"ms_median": float(np.median(ms)), "ms_p95": float(np.percentile(ms, 95)), "fps": 1000 / np.mean(ms)}


def _publish(client: Client, pub, msgs: list, rate: float | None, seconds: float | None, first: int) -> dict:
    sent = {}
    t0 = time.monotonic()
    i = 0
    while (seconds is None and i < len(msgs)) or (seconds is not None and time.monotonic() - t0 < seconds):
        msg = msgs[i % len(msgs)]
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(first + i, 1_000_000_000)
        sent[first + i] = time.monotonic()
        pub.publish(msg)
        i += 1
        if rate:
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
    return sent


def through_ros(
    cfg_path: Path,
    msgs: list,
    stream: ImageStream,
    rate: float,
    flood_rate: float,
    flood_seconds: float,
    workdir: Path,
) -> dict:
    params = {"cameras": [CAM], "input_types": ["raw"], "config_file": str(cfg_path)}
    params["runtime.threads"] = stream.anonymizer.cfg.runtime.threads
    node = NodeProcess(params, workdir, "bench")
    client = Client("inspire_bench")
    try:
        node.wait_log("active:")
        pub = client.publisher(msgs[0].__class__, CAM, reliable=True)
        from sensor_msgs.msg import Image

        out = client.subscribe(Image, f"{CAM}/anonymized", depth=100)
        diag = client.diagnostics()
        client.wait_matched(pub)
        time.sleep(1.0)
        _publish(client, pub, msgs[:5], rate, None, 0)  # warm-up
        time.sleep(2.0)
        out.clear()
        pairs = []
        for i, msg in enumerate(msgs):
            t = time.perf_counter()
            stream.process(msg)
            direct_ms = (time.perf_counter() - t) * 1000
            msg.header.stamp.sec, msg.header.stamp.nanosec = 0, 500_000 + i
            t = time.monotonic()
            pub.publish(msg)
            stamp = 500_000 + i
            try:
                client.wait(lambda stamp=stamp: any(stamp_ns(m) == stamp for m in out.messages()), 5.0)
            except TimeoutError:
                continue
            # The callback's arrival time, not when the poll above noticed it.
            arrived = next(at for m, at in out.items if stamp_ns(m) == stamp)
            pairs.append(((arrived - t) * 1000, direct_ms))
        time.sleep(1.5)  # one diagnostics period: the node's own callback -> publish times
        node_values = status_values(diag.messages()[-1], CAM) or {}
        e2e, dms = np.array(pairs).T
        paired = {
            "frames": len(pairs),
            "e2e_ms_median": float(np.median(e2e)),
            "direct_ms_median": float(np.median(dms)),
            "overhead_ms_median": float(np.median(e2e - dms)),
            "overhead_ms_p95": float(np.percentile(e2e - dms, 95)),
            "node_ms_mean": float(node_values.get("latency_ms_mean", "nan")),
        }
        out.clear()
        sent = _publish(client, pub, msgs, rate, None, 1_000_000)
        time.sleep(2.0)
        lat = [(t - sent[stamp_ns(m)]) * 1000 for m, t in out.items if stamp_ns(m) in sent]
        paced = {
            "rate_hz": rate,
            "sent": len(sent),
            "received": len(lat),
            "lost": len(sent) - len(lat),
            "e2e_ms_median": float(np.median(lat)) if lat else float("nan"),
            "e2e_ms_p95": float(np.percentile(lat, 95)) if lat else float("nan"),
        }
        stale_before = _stale(diag)
        out.clear()
        t0 = time.monotonic()
        sent = _publish(client, pub, msgs, flood_rate, flood_seconds, 2_000_000)
        elapsed = time.monotonic() - t0
        time.sleep(2.0)
        got = [m for m, _ in out.items if stamp_ns(m) in sent]
        flood = {
            "seconds": round(elapsed, 2),
            "sent": len(sent),
            "in_hz": len(sent) / elapsed,
            "out_hz": len(got) / elapsed,
            "stale_dropped": _stale(diag) - stale_before,
            "node_rss_mb": round(node.rss_mb(), 1),
        }
        return {"paired": paired, "paced": paced, "flood": flood}
    finally:
        client.close()
        node.stop()


def echo_node() -> int:
    """A bare rclpy process republishing `echo_in` on `echo_out` (the transport baseline)."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("inspire_bench_echo")
    pub = node.create_publisher(Image, "echo_out", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(
        Image, "echo_in", pub.publish, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    )
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    rclpy.try_shutdown()
    return 0


def through_echo(msgs: list, rate: float) -> dict:
    from sensor_msgs.msg import Image

    proc = subprocess.Popen([sys.executable, "-m", "inspire_ros.bench.ros", "--echo"], env=ros_env())
    client = Client("inspire_bench_echo_client")
    try:
        pub = client.publisher(Image, "echo_in", reliable=True)
        out = client.subscribe(Image, "echo_out", depth=100)
        client.wait_matched(pub)
        time.sleep(1.0)
        sent = _publish(client, pub, msgs, rate, None, 3_000_000)
        time.sleep(1.0)
        lat = [(t - sent[stamp_ns(m)]) * 1000 for m, t in out.items if stamp_ns(m) in sent]
        return {"received": len(lat), "ms_median": float(np.median(lat)), "ms_p95": float(np.percentile(lat, 95))}
    finally:
        client.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def _stale(diag) -> int:
    msgs = diag.messages()
    values = status_values(msgs[-1], CAM) if msgs else None
    return int(values["stale_dropped"]) if values else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="inspire ros-bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--video", help="default: <shared>/data/pets09_s2l1/vtest.avi (768x576)")
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--rate", type=float, default=10.0, help="paced input rate in Hz (default 10)")
    p.add_argument("--flood-rate", type=float, default=30.0, help="overload input rate in Hz (default 30)")
    p.add_argument("--flood-seconds", type=float, default=5.0)
    p.add_argument("--config", help="anonymizer YAML (default: config/default.yaml)")
    p.add_argument("--threads", type=int, help="onnxruntime threads per model (default: the config's)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)  # the transport baseline process
    args = p.parse_args(argv)
    if args.echo:
        return echo_node()
    # Both ends: the default transports drop large frames (see ros_env).
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    video = Path(args.video) if args.video else pets09_video()
    cfg_path = Path(args.config) if args.config else default_config_path()
    cfg = config_mod.load(cfg_path, preset="live")  # what the node runs
    if args.threads:
        cfg = cfg.replace(**{"runtime.threads": args.threads})
    frames = read_frames(video, args.frames)
    msgs = [image_msg(f, "bgr8") for f in frames]
    h, w = frames[0].shape[:2]
    print(
        f"ros-bench: {len(frames)} frames {w}x{h} bgr8 from {video.name}, config {cfg_path.name}, "
        f"{cfg.runtime.threads} onnxruntime thread(s)",
        flush=True,
    )
    anonymizer = Anonymizer(cfg)
    stream = camera_stream(anonymizer, compressed=False)  # the node's tracker too
    d = direct(stream, msgs)
    print(f"direct chain (decode+anonymize+encode): {d['ms_median']:.1f} ms median, {d['fps']:.1f} fps", flush=True)
    with tempfile.TemporaryDirectory(prefix="inspire_ros_bench_") as tmp:
        r = through_ros(cfg_path, msgs, stream, args.rate, args.flood_rate, args.flood_seconds, Path(tmp))
        r["echo"] = echo = through_echo(msgs, args.rate)
    paired, paced, flood = r["paired"], r["paced"], r["flood"]
    overhead = paired["overhead_ms_median"]
    print(
        f"paired, frame by frame: direct {paired['direct_ms_median']:.1f} ms, through ROS "
        f"{paired['e2e_ms_median']:.1f} ms (medians over {paired['frames']} frames); inside the node "
        f"(callback -> publish) {paired['node_ms_mean']:.1f} ms mean"
    )
    print(
        f"through ROS at {paced['rate_hz']:g} Hz: e2e {paced['e2e_ms_median']:.1f} ms median, "
        f"{paced['e2e_ms_p95']:.1f} ms p95; {paced['received']}/{paced['sent']} received, {paced['lost']} lost"
    )
    print(
        f"ROS overhead: {overhead:+.1f} ms per frame median, {paired['overhead_ms_p95']:+.1f} ms p95 "
        "(end-to-end - direct, same frame)"
    )
    print(
        f"of which DDS transport (bare rclpy echo, same two hops): {echo['ms_median']:.1f} ms median, "
        f"{echo['ms_p95']:.1f} ms p95; node framework (callback -> publish - direct): "
        f"{paired['node_ms_mean'] - paired['direct_ms_median']:+.1f} ms"
    )
    print(
        f"flood {flood['in_hz']:.0f} Hz for {flood['seconds']} s: out {flood['out_hz']:.1f} Hz "
        f"= {flood['out_hz'] / d['fps']:.2f}x the direct chain; {flood['stale_dropped']} stale frames dropped; "
        f"node RSS {flood['node_rss_mb']} MB"
    )
    result = {"frames": len(frames), "size": [w, h], "direct": d, **r, "ros_overhead_ms": overhead}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
