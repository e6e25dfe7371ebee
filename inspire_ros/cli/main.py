"""`inspire` entry point: anonymize, bench, train, models, bag, eval, ros-bench."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from ..config import METHODS
from ..errors import InspireError
from ..io.media import os_error_message, shown_path
from . import EXIT_ERROR, EXIT_FRAMES_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code

__all__ = ["EXIT_ERROR", "EXIT_FRAMES_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inspire", description="Replace people and cars with synthesized ones.")
    p.add_argument("-v", "--verbose", action="store_true", help="log model/provider details")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("anonymize", help="anonymize an image, a folder of images or a video")
    a.add_argument("input", help="image, folder of images, or video (mp4/avi/mov/mkv)")
    a.add_argument("output", help="output of the same kind (video: .mp4 or .avi)")
    a.add_argument("--config", help="YAML config (default: config/default.yaml)")
    a.add_argument("--method", choices=METHODS, help="override the config's method")
    a.add_argument("--seed", type=int, help="seed for reproducible output (default: fresh entropy)")
    a.add_argument("--audit", help="write a per-frame JSON audit of replaced instances here")
    a.add_argument("--force", action="store_true", help="overwrite an existing output")
    a.add_argument("--max-frames", type=_positive_int, help="stop after this many frames (videos)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")

    b = sub.add_parser("bench", help="per-stage timing on a video, chain vs detector alone")
    b.add_argument("--video", help="default: <shared>/data/pets09_s2l1/vtest.avi")
    b.add_argument("--frames", type=int, default=200)
    b.add_argument("--config", help="YAML config (default: config/default.yaml)")
    b.add_argument("--method", choices=METHODS)
    b.add_argument("--json", help="also write the figures to this JSON file")

    t = sub.add_parser("train", help="build the instance dataset, train and export the learned blocks")
    tsub = t.add_subparsers(dest="train_command", required=True)
    td = tsub.add_parser("dataset", help="single-instance crops, masks and edges from a labelled dataset")
    td.add_argument("--source", choices=["camvid", "cityscapes"], default="camvid")
    td.add_argument("--root", help="dataset root (default: <shared>/data/camvid)")
    td.add_argument("--splits", nargs="+", default=["train", "val", "test"])
    td.add_argument("--out", default=".cache/instances")
    td.add_argument("--size", type=int, default=64)
    td.add_argument("--min-area", type=int, default=64, help="skip regions under this many pixels")
    td.add_argument("--min-side", type=int, default=6, help="skip regions whose box has a shorter side")
    for name, steps, batch in (("unet", 2000, 32), ("generator", 20000, 16)):
        tp = tsub.add_parser(name, help=f"train the {name} (resumable; Ctrl-C keeps the last checkpoint)")
        if name == "generator":
            tp.add_argument("--data", nargs="+", default=[".cache/instances"],
                            help="one folder per crop size, smallest first (train/val/test.npz of "
                            "`inspire train dataset --size S`), e.g. .cache/inst64 .cache/inst128")  # fmt: skip
            tp.add_argument("--widths", type=int, nargs="+", help="encoder widths (default: the shipped model's)")
            tp.add_argument("--no-augment", action="store_true", help="no zoom/colour augmentation")
            tp.add_argument("--l1", type=float, default=50.0, help="weight of the masked L1 loss")
            tp.add_argument("--fm", type=float, default=0.0, help="weight of the discriminator feature-matching loss")
            tp.add_argument("--init", help="start from these generator weights (fine-tuning), e.g. a best.pt")
        else:
            tp.add_argument("--data", default=".cache/instances", help="folder with train.npz and val.npz")
            tp.add_argument("--widths", type=int, nargs="+", help="UNet widths (default 8 16 32 64)")
            tp.add_argument("--stem", type=int, choices=[1, 2], default=1,
                            help="2: a strided first convolution, the UNet at half resolution (faster)")  # fmt: skip
        tp.add_argument("--out", default=f".cache/runs/{name}")
        tp.add_argument("--steps", type=int, default=steps)
        tp.add_argument("--minutes", type=float, help="stop after this much wall time")
        tp.add_argument("--batch", type=int, default=batch)
        tp.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
        tp.add_argument("--force", action="store_true", help="start over even if --out holds a checkpoint")
        tp.add_argument("--threads", type=int, default=2)
        tp.add_argument("--eval-every", type=int, default=250 if name == "unet" else 500,
                        help="validate (and keep the best weights) every this many steps")  # fmt: skip
    for name, steps in (("segmenter", 2400), ("inpainter", 850), ("harmonizer", 900)):
        tp = tsub.add_parser(name, help=f"train the SVIA {name} on whole CamVid frames (resumable)")
        tp.add_argument("--root", help="CamVid root (default: <shared>/data/camvid)")
        tp.add_argument("--out", default=f".cache/runs/svia_{name}")
        tp.add_argument("--steps", type=int, default=steps)
        tp.add_argument("--minutes", type=float, help="stop after this much wall time")
        tp.add_argument("--batch", type=int, default=8)
        tp.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
        tp.add_argument("--force", action="store_true", help="start over even if --out holds a checkpoint")
        tp.add_argument("--threads", type=int, default=2)
        tp.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine decay to 5 %%)")
        tp.add_argument("--init", help="start from these weights (fine-tuning), e.g. an earlier best.pt")
        if name == "segmenter":
            tp.add_argument("--balance", type=float, default=1.0, help="class weighting: median-frequency ** this")
    te = tsub.add_parser("export", help="export trained weights to ONNX and record them in models/manifest.yaml")
    te.add_argument("kind", choices=["unet", "generator", "segmenter", "inpainter", "harmonizer"])
    te.add_argument("--weights", help="default: the best weights of the kind's default training folder")
    te.add_argument("--out", help="default: the kind's model in models/ (e.g. models/svia_segmenter_camvid.onnx)")
    te.add_argument("--no-manifest", action="store_true", help="do not touch models/manifest.yaml")

    m = sub.add_parser("models", help="list, verify or fetch model files")
    msub = m.add_subparsers(dest="models_command", required=True)
    msub.add_parser("list", help="manifest entries and where each resolves")
    f = msub.add_parser("fetch", help="download a manifest model (online users)")
    f.add_argument("name")
    f.add_argument("--dir", help="destination folder (default: $INSPIRE_MODEL_DIR or the package's models/)")

    g = sub.add_parser("bag", help="anonymize the camera topics of a rosbag (ROS 1, rosbag2 sqlite3/mcap)")
    gsub = g.add_subparsers(dest="bag_command", required=True)
    gs = gsub.add_parser("sanitize", help="anonymize image topics, copy every other message byte for byte")
    gs.add_argument("input", help="rosbag2 folder, .mcap or .db3 file, or ROS 1 .bag")
    gs.add_argument("output", help="output bag of the same kind (.mcap/.db3: a bare storage file)")
    gs.add_argument("--config", help="YAML config (default: config/default.yaml)")
    topics_help = "image topics to anonymize, after INPUT OUTPUT (default: every image topic)"
    gs.add_argument("--topics", nargs="+", metavar="T", help=topics_help)
    exclude_help = "topics to leave out of the output (e.g. encoded video the sanitizer cannot anonymize)"
    gs.add_argument("--exclude-topics", nargs="+", metavar="T", help=exclude_help)
    gs.add_argument("--storage", choices=["sqlite3", "mcap"], help="rosbag2 output storage (default: the input's)")
    gs.add_argument("--compression", choices=["none", "zstd"], help="output compression (default: the input's)")
    gs.add_argument("--report", metavar="FILE.json", help="write per-topic counts and per-frame records here")
    gs.add_argument("--force", action="store_true", help="overwrite an existing output")
    gs.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run on OUTPUT: frames it finished are taken from its journal, not redone",
    )
    gs.add_argument("--method", choices=METHODS, help="override the config's method")
    gs.add_argument("--seed", type=int, help="seed for reproducible output (default: fresh entropy)")
    gs.add_argument("--quiet", action="store_true", help="no progress bar")
    gm = gsub.add_parser("sanitize-many", help="sanitize many bags into one folder, in parallel")
    gm.add_argument("inputs", nargs="+", help="bags (rosbag2 folders, .mcap/.db3 files, ROS 1 .bag files)")
    gm.add_argument("--out", required=True, help="output folder: OUT/<input name> and OUT/<input name>.report.json")
    gm.add_argument("--config", help="YAML config (default: config/default.yaml)")
    gm.add_argument("--topics", nargs="+", metavar="T", help=topics_help)
    gm.add_argument("--exclude-topics", nargs="+", metavar="T", help=exclude_help)
    gm.add_argument("--storage", choices=["sqlite3", "mcap"], help="rosbag2 output storage (default: the input's)")
    gm.add_argument("--compression", choices=["none", "zstd"], help="output compression (default: the input's)")
    gm.add_argument("--force", action="store_true", help="redo bags whose output exists")
    gm.add_argument(
        "--resume",
        action="store_true",
        help="skip bags already finished (their report exists), continue interrupted ones from their journal",
    )
    gm.add_argument("--method", choices=METHODS, help="override the config's method")
    gm.add_argument("--seed", type=int, help="seed for reproducible output (default: fresh entropy)")
    gm.add_argument("--jobs", type=int, default=2, help="bags processed at once on this machine (default 2)")
    gm.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster (auto, ray://host:port, or local)")
    gm.add_argument(
        "--gpus-per-bag", type=float, default=0.0, metavar="G", help="with --ray: GPUs reserved per bag (e.g. 0.5)"
    )
    gm.add_argument("--quiet", action="store_true", help="no progress bar")
    gv = gsub.add_parser("verify", help="check that OUTPUT is a faithful sanitized copy of INPUT")
    gv.add_argument("input")
    gv.add_argument("output")
    gv.add_argument("--report", metavar="FILE.json", help="the sanitize report: also check where pixels changed")
    gb = gsub.add_parser("bench", help="sanitize throughput vs the live chain, raw copy speed, memory per bag size")
    gb.add_argument("--frames", type=int, default=100, help="camera frames in the test bag (default 100)")
    gb.add_argument("--video", help="default: <shared>/data/pets09_s2l1/vtest.avi (768x576)")
    gb.add_argument("--config", help="YAML config (default: config/default.yaml)")
    gb.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="test bag storage (default mcap)")
    gb.add_argument("--json", metavar="FILE", help="also write the figures to this JSON file")

    # Listed for --help; main() hands its arguments to inspire_ros.bench.ros (needs rclpy).
    sub.add_parser("ros-bench", help="ROS layer overhead: the chain directly vs through an anonymizer_node process")

    e = sub.add_parser("eval", help="privacy and utility of every method: report.json, PNG plots, summary.md")
    e.add_argument("--out", required=True, help="output folder (written atomically)")
    e.add_argument("--mode", choices=["small", "full"], default="small", help="data sizes (default small)")
    e.add_argument("--methods", nargs="+", metavar="M", help="methods to compare (default: the mode's; see README)")
    e.add_argument("--shared", help="shared data and models folder (default: $INSPIRE_SHARED or ../shared)")
    e.add_argument("--seed", type=int, default=0, help="seed of the synthesized instances (default 0)")
    e.add_argument("--judge-config", help="YAML config whose detector section is the judge (default: default.yaml)")
    e.add_argument("--judge-model", default="yolox_nano_dynamic.onnx", help="judge detector model")
    e.add_argument("--judge-size", type=int, default=640, help="judge input size (default 640; pipeline: 416)")
    e.add_argument("--judge-score", type=float, help="judge score threshold (default: the judge config's)")
    e.add_argument(
        "--inversion",
        type=int,
        nargs="?",
        const=300,
        default=0,
        metavar="STEPS",
        help="also run the model inversion attack (training steps per method, default 300)",
    )
    e.add_argument("--force", action="store_true", help="replace an existing output folder")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    from .coverage import add_parser as add_coverage

    add_coverage(sub)
    from .scene_eval import add_parser as add_scene_eval  # `inspire eval scene` (= eval-scene)

    add_scene_eval(sub)
    return p


def _terminate(signum, frame):
    # SIGTERM unwinds like Ctrl-C so temporary outputs are removed on the way out.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ros-bench"]:  # its own parser (it also runs as python -m inspire_ros.bench.ros)
        from ..bench.ros import main as ros_bench

        return ros_bench(argv[1:])
    if argv[:2] == ["eval", "scene"]:  # `eval` has no subcommands: the scene evaluation is its own command
        argv = ["eval-scene", *argv[2:]]
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "anonymize":
            from .anonymize import run

            return run(args)
        if args.command == "bench":
            from ..bench.chain import run

            return run(args)
        if args.command == "train":
            from .train import run

            return run(args)
        if args.command == "models":
            from .models import run

            return run(args)
        if args.command == "bag":
            from .bag import run

            return run(args)
        if args.command == "eval":
            from .eval import run

            return run(args)
        if args.command == "coverage":
            from .coverage import run

            return run(args)
        if args.command == "eval-scene":
            from .scene_eval import run

            return run(args)
    except InspireError as e:  # the one place errors become exit statuses (cli.EXIT_CODES)
        print(f"inspire: error: {_one_line(e)}", file=sys.stderr)
        return exit_code(e)
    except FileExistsError as e:
        print(f"inspire: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        # A file system refusal not met where it was expected (a read-only or full output
        # folder under `bag sanitize`, ...): the problem and the fix, not a traceback.
        what = f"cannot access {shown_path(e.filename)}" if e.filename else "file system error"
        print(f"inspire: error: {_one_line(os_error_message(e, what))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("inspire: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ImportError as e:
        if not _interrupted(e):  # a broken installation: the traceback is what helps
            raise
        print("inspire: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _interrupted(e: BaseException | None) -> bool:
    """Ctrl-C during an extension module's import comes back as an ImportError caused by it."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _one_line(e: object) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
