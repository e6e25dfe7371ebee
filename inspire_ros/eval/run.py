"""Orchestration: frames -> one detection pass -> every method -> privacy, utility, quality.

Detection runs once per frame with the pipeline's detector (config/default.yaml); every
method replaces the same detections on the same frames. A judge detector (YOLOX-nano at a
larger input by default) scores utility: its detections on the original frames are the
ground truth for its detections on the anonymized ones.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from .. import config as config_mod
from ..datasets import Gallery, Sample, camvid_samples, crop, pets09_samples
from ..detect import build_detector
from ..paths import default_config_path, shared_dir
from ..types import Box
from . import EvalError, leak, quality, reid
from .methods import METHODS, build_all
from .utility import UtilityAccumulator

log = logging.getLogger(__name__)

SCHEMA = "inspire_ros.eval/1"
CATEGORIES = ("person", "car")


@dataclass(frozen=True)
class Sizes:
    """How much data a mode uses (written into the report)."""

    pets09_query_step: int  # every n-th annotated PETS09 frame is anonymized and queried
    pets09_query_limit: int | None
    pets09_gallery_step: int  # every n-th of the remaining annotated frames forms the re-id gallery
    camvid_splits: tuple[str, ...]
    camvid_step: int  # every n-th labelled CamVid frame per split
    camvid_limit: int | None  # frames per split
    camvid_min_area: int  # CamVid regions under this many pixels are not instances
    vtest_car_min_area: int  # PETS09 cars (judge detections on the originals) for the car attack
    methods: tuple[str, ...]


MODES = {
    "small": Sizes(40, 2, 8, ("val",), 50, 2, 200, 400, ("none", "fill", "inspire-weight-free", "face-plate-blur")),
    "full": Sizes(5, None, 1, ("val", "test"), 3, None, 200, 400, tuple(METHODS)),
}


@dataclass(frozen=True)
class JudgeSettings:
    config: str | None = None  # YAML whose detector section is the judge (default: config/default.yaml)
    model: str | None = "yolox_nano_dynamic.onnx"
    input_size: int | None = 640
    score_threshold: float | None = None


def build_judge(settings: JudgeSettings, shared: Path):
    cfg = config_mod.load(settings.config or default_config_path())
    changes: dict = {"categories": {c: {} for c in CATEGORIES}, "seed": None}
    if settings.model:
        local = shared / "models" / settings.model
        changes["detector.model"] = str(local) if local.is_file() else settings.model
    if settings.input_size:
        changes["detector.input_size"] = settings.input_size
    if settings.score_threshold is not None:
        changes["detector.score_threshold"] = settings.score_threshold
    cfg = cfg.replace(**changes)
    return build_detector(cfg), cfg.detector


@dataclass
class Probe:
    """An instance whose crop the attacks and the quality metrics look at."""

    sample: int
    dataset: str
    category: str
    box: Box
    identity: int | None  # PETS09 identity, for the re-id attack


@dataclass
class Originals:
    """The un-anonymized side, computed once: what every method's crops are compared with."""

    datasets: list[str]
    probes: list[Probe]
    persons: list[int]  # probe indices of persons (rows of orig_os)
    q_rows: list[int]  # rows of orig_os that are PETS09 re-id queries
    q_ids: list[int]
    gallery: Gallery
    gallery_os: np.ndarray
    orig_mn: np.ndarray  # MobileNetV2 features of every probe crop
    orig_os: np.ndarray  # OSNet features of the person crops


@dataclass
class MethodRun:
    """What one method produced over all frames."""

    util: dict[str, UtilityAccumulator]
    fractions: dict[str, list[float]]
    ssim: dict[str, list[float]]
    instances_total: int
    anon_mn: np.ndarray
    anon_os: np.ndarray


def _probes(i: int, sample: Sample, reference, car_min_area: int) -> list[Probe]:
    ds = sample.dataset
    out = [Probe(i, ds, g.category, g.box, g.identity) for g in sample.gt]
    if ds == "pets09":  # no car ground truth: the judge's cars on the original
        out += [
            Probe(i, ds, "car", d.box, None) for d in reference if d.category == "car" and d.box.area >= car_min_area
        ]
    return out


def _nan_none(x):
    if isinstance(x, dict):
        return {k: _nan_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_none(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else round(float(x), 5)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _weighted(values: list[tuple[float, int]]) -> float:
    values = [(v, n) for v, n in values if n and not np.isnan(v)]
    total = sum(n for _, n in values)
    return sum(v * n for v, n in values) / total if total else float("nan")


def evaluate(
    mode: str = "small",
    methods: list[str] | None = None,
    shared: Path | None = None,
    seed: int = 0,
    judge: JudgeSettings | None = None,
    progress: bool = False,
    sizes: Sizes | None = None,
    inversion_steps: int = 0,
) -> tuple[dict, dict]:
    """Run the evaluation; returns (report, thumbnails {dataset: {method: image}}).

    `inversion_steps` > 0 also runs the model inversion attack (that many training steps per method)."""
    started = time.perf_counter()
    shared = Path(shared) if shared else shared_dir()
    sizes = sizes or MODES[mode]
    if methods:
        sizes = dataclasses.replace(sizes, methods=tuple(methods))
    judge = judge or JudgeSettings()
    unknown = [m for m in sizes.methods if m not in METHODS]
    if unknown:
        raise EvalError(f"unknown method {unknown[0]!r}; known: {', '.join(METHODS)}")

    # Data first: a missing file fails before any model loads.
    pets, gallery = pets09_samples(shared, sizes.pets09_query_step, sizes.pets09_query_limit, sizes.pets09_gallery_step)
    cams = camvid_samples(
        shared, list(sizes.camvid_splits), sizes.camvid_step, sizes.camvid_min_area, sizes.camvid_limit
    )
    samples = pets + cams
    datasets = sorted({s.dataset for s in samples}, key=["pets09", "camvid"].index)

    method_list = build_all(list(sizes.methods), shared, seed)
    pipeline_cfg = config_mod.load(default_config_path())
    local = shared / "models" / pipeline_cfg.detector.model
    if local.is_file():  # --shared names where the models are, too
        pipeline_cfg = pipeline_cfg.replace(**{"detector.model": str(local)})
    detector = build_detector(pipeline_cfg)
    judge_detector, judge_cfg = build_judge(judge, shared)
    osnet = reid.OsnetFeatures(shared)
    mnv2 = reid.MobileNetV2Features()

    # One detection pass, the judge's reference, and the original crops' features.
    detections, reference, probes = [], [], []
    for i, s in enumerate(samples):
        detections.append(detector.detect(s.frame))
        reference.append(judge_detector.detect(s.frame))
        probes += _probes(i, s, reference[-1], sizes.vtest_car_min_area)
    crops = [crop(samples[p.sample].frame, p.box) for p in probes]
    persons = [j for j, p in enumerate(probes) if p.category == "person"]
    orig_mn = mnv2(crops)
    orig_os = osnet([crops[j] for j in persons])
    gallery_os = osnet(gallery.crops)
    queries = [j for j, p in enumerate(probes) if p.identity is not None]  # PETS09 persons
    q_rows = [persons.index(j) for j in queries]
    q_ids = [probes[j].identity for j in queries]
    reference_rank1 = reid.rank1(orig_os[q_rows], q_ids, gallery_os, gallery.identities)
    originals = Originals(datasets, probes, persons, q_rows, q_ids, gallery, gallery_os, orig_mn, orig_os)

    total = len(method_list) * len(samples)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc="eval")
    results: dict[str, dict] = {}
    thumbs: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for mi, method in enumerate(method_list):
        t0 = time.perf_counter()
        util = {ds: UtilityAccumulator(CATEGORIES) for ds in ["all", *datasets]}
        fractions: dict[str, list[float]] = defaultdict(list)
        ssim: dict[str, list[float]] = defaultdict(list)
        anon_crops: list[np.ndarray | None] = [None] * len(probes)
        instances_total = 0
        for si, s in enumerate(samples):
            rng = np.random.default_rng([seed, mi, si])
            out, instances = method.apply(s.frame, detections[si], rng)
            instances_total += len(instances)
            predicted = judge_detector.detect(out)
            util["all"].add(reference[si], predicted)
            util[s.dataset].add(reference[si], predicted)
            fractions[s.dataset] += leak.unreplaced_fractions(s.frame.shape, s.gt, instances)
            ssim[s.dataset].append(quality.ssim_outside(s.frame, out, s.gt_mask()))
            for j, p in enumerate(probes):
                if p.sample == si:
                    anon_crops[j] = crop(out, p.box).copy()
            if s.dataset not in thumbs[method.name]:
                thumbs[method.name][s.dataset] = _thumb(out)
            if bar is not None:
                bar.update(1)
        if method.name == "none":
            anon_mn, anon_os = orig_mn, orig_os
        else:
            anon_mn = mnv2(anon_crops)
            anon_os = osnet([anon_crops[j] for j in persons])
        inverted = None
        if inversion_steps:
            inverted = _inversion(probes, crops, anon_crops, osnet, inversion_steps, seed)
        run = MethodRun(util, fractions, ssim, instances_total, anon_mn, anon_os)
        results[method.name] = _method_report(method, originals, run)
        if inverted is not None:
            results[method.name]["privacy"]["inversion"] = inverted
        results[method.name]["seconds"] = round(time.perf_counter() - t0, 1)
        log.info("%s done in %.1f s", method.name, time.perf_counter() - t0)
    if bar is not None:
        bar.close()

    counts = {ds: sum(1 for s in samples if s.dataset == ds) for ds in datasets}
    report = {
        "schema": SCHEMA,
        "tool": f"inspire_ros {__version__}",
        "mode": mode,
        "seed": seed,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shared": str(shared),
        "sizes": {
            **dataclasses.asdict(sizes),
            "frames": counts,
            "frame_keys": [s.key for s in samples],
            "gt_instances": {ds: sum(len(s.gt) for s in samples if s.dataset == ds) for ds in datasets},
            "probes": {
                f"{ds}/{c}": sum(1 for p in probes if p.category == c and p.dataset == ds)
                for ds in datasets
                for c in CATEGORIES
            },
            "pets09_queries": len(queries),
            "pets09_gallery_crops": len(gallery.crops),
            "pets09_gallery_identities": len(set(gallery.identities)),
            "pets09_query_identities": len(set(q_ids)),
        },
        "pipeline_detector": {
            "model": Path(pipeline_cfg.detector.model).name,
            "input_size": getattr(detector, "size", pipeline_cfg.detector.input_size),
            "score_threshold": pipeline_cfg.detector.score_threshold,
        },
        "judge": {
            "backend": judge_cfg.backend,
            "model": Path(judge_cfg.model).name,
            "input_size": getattr(judge_detector, "size", judge_cfg.input_size),
            "score_threshold": judge_cfg.score_threshold,
            "iou_threshold": 0.5,
        },
        "reference": {
            "reid_pets09_rank1_unanonymized": reference_rank1,
            "reid_pets09_rank1_chance": reid.chance_rank1(q_ids, gallery.identities),
            "strongest_rank1_chance": {
                f"{ds}/{c}": 1.0 / n if (n := sum(1 for p in probes if p.category == c and p.dataset == ds)) else None
                for ds in datasets
                for c in CATEGORIES
            },
        },
        "definitions": DEFINITIONS | ({"inversion": INVERSION_DEFINITION} if inversion_steps else {}),
        "methods": results,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    report["headline"] = headline(report)
    return _nan_none(report), thumbs


DEFINITIONS = {
    "thwarting_rate": "PETS09 re-id attack (OSNet-x0.25 MSMT17): 1 - rank-1 of anonymized query crops against "
    "original crops of the same identities from other (gallery) frames",
    "strongest_rank1": "query = anonymized version of the very gallery crop; gallery = all original crops of "
    "that category in that dataset; persons on OSNet features, cars on ImageNet MobileNetV2 features; "
    "headline = mean over datasets weighted by crops",
    "leak_rate": "share of ground-truth instances more than 20 % unreplaced (CamVid: pixels outside every "
    "replaced mask; PETS09 person boxes: box area outside every replaced instance's box)",
    "map50": "mAP@0.5 (all-point AP, mean over person and car) of the judge on anonymized frames against the "
    "judge on the original frames",
    "count_accuracy": "1 - sum |judge count anonymized - judge count original| / sum original count, per frame "
    "and category",
    "frechet_mnv2": "Fréchet distance between MobileNetV2 (ImageNet, 1280-d) features of original and "
    "anonymized instance crops: FID's formula, NOT Inception FID",
    "kernel_mnv2": "KID-style unbiased MMD^2 (cubic polynomial kernel) on the same features: NOT Inception KID",
    "ssim_outside": "mean SSIM (grey, Gaussian window 11) between original and anonymized frames over pixels "
    "outside every ground-truth instance (CamVid masks, PETS09 boxes); instance pixels are taken from the "
    "original on both sides so only changes outside count",
    "product": "thwarting_rate x map50 (paper's utility-privacy product)",
}


INVERSION_DEFINITION = (
    "model inversion attack: a small conv encoder-decoder trained per method on (anonymized -> original) "
    "crop pairs (32x32) of the even-numbered frames, applied to those of the odd-numbered ones; PSNR of inverted vs "
    "anonymized crops against the originals, and the strongest attacker's person rank-1 with inverted queries"
)


def _inversion(probes, crops, anon_crops, osnet, steps: int, seed: int) -> dict:
    from . import inversion

    train = [j for j, p in enumerate(probes) if p.sample % 2 == 0]
    test = [j for j, p in enumerate(probes) if p.sample % 2 == 1]
    t0 = time.perf_counter()
    out = inversion.train_and_invert(
        [anon_crops[j] for j in train], [crops[j] for j in train], [anon_crops[j] for j in test], steps, seed=seed
    )
    seconds = time.perf_counter() - t0
    originals = inversion.resized([crops[j] for j in test])
    persons = [k for k, j in enumerate(test) if probes[j].category == "person"]
    back = [cv2.resize(out[k], crops[test[k]].shape[1::-1], interpolation=cv2.INTER_LINEAR) for k in persons]
    gallery = osnet([crops[test[k]] for k in persons])
    return {
        "psnr_inverted": inversion.psnr(out, originals),
        "psnr_anonymized": inversion.psnr(inversion.resized([anon_crops[j] for j in test]), originals),
        "rank1_person_inverted": reid.strongest_rank1(gallery, osnet(back)),
        "rank1_person_anonymized": reid.strongest_rank1(gallery, osnet([anon_crops[test[k]] for k in persons])),
        "train_pairs": len(train),
        "test_pairs": len(test),
        "steps": steps,
        "train_seconds": round(seconds, 1),
    }


def _method_report(method, o: Originals, run: MethodRun) -> dict:
    datasets, probes, persons, orig_os, orig_mn = o.datasets, o.probes, o.persons, o.orig_os, o.orig_mn
    anon_os, anon_mn, util, fractions, ssim = run.anon_os, run.anon_mn, run.util, run.fractions, run.ssim
    rank1 = reid.rank1(anon_os[o.q_rows], o.q_ids, o.gallery_os, o.gallery.identities)
    thwarting = 1 - rank1
    strongest: dict[str, dict] = {}
    for cat in CATEGORIES:
        per_ds = {}
        for ds in datasets:
            idx = [j for j, p in enumerate(probes) if p.category == cat and p.dataset == ds]
            if not idx:
                continue
            if cat == "person":
                rows = [persons.index(j) for j in idx]
                r = reid.strongest_rank1(orig_os[rows], anon_os[rows])
            else:
                r = reid.strongest_rank1(orig_mn[idx], anon_mn[idx])
            per_ds[ds] = {"rank1": r, "crops": len(idx)}
        strongest[cat] = {
            "rank1": _weighted([(v["rank1"], v["crops"]) for v in per_ds.values()]),
            "feature": "osnet_x0_25_msmt17" if cat == "person" else "mobilenetv2_imagenet",
            "per_dataset": per_ds,
        }
    all_fractions = [f for ds in datasets for f in fractions[ds]]
    per_dataset = {}
    for ds in datasets:
        sr = _weighted(
            [
                (strongest[c]["per_dataset"][ds]["rank1"], strongest[c]["per_dataset"][ds]["crops"])
                for c in CATEGORIES
                if ds in strongest[c]["per_dataset"]
            ]
        )
        u = util[ds]
        per_dataset[ds] = {
            "strongest_rank1": sr,
            "privacy": 1 - sr,
            "leak_rate": leak.leak_rate(fractions[ds]),
            "map50": u.map(),
            "ap50": u.ap(),
            "count_accuracy": u.count_accuracy(),
            "ssim_outside": float(np.nanmean(ssim[ds])) if ssim[ds] else float("nan"),
            "product": (1 - sr) * u.map(),
        }
    cat_idx = {c: [j for j, p in enumerate(probes) if p.category == c] for c in CATEGORIES}
    u = util["all"]
    return {
        "family": method.family,
        "description": method.description,
        "params": method.params,
        "instances_replaced": run.instances_total,
        "privacy": {
            "reid_pets09": {"rank1": rank1, "thwarting_rate": thwarting, "queries": len(o.q_ids)},
            "strongest": strongest,
            "leak_rate": leak.leak_rate(all_fractions),
            "mean_unreplaced": float(np.mean(all_fractions)) if all_fractions else float("nan"),
            "gt_instances": len(all_fractions),
        },
        "utility": {
            "map50": u.map(),
            "ap50": u.ap(),
            "count_accuracy": u.count_accuracy(),
            "count_exact": u.count_exact(),
        },
        "quality": {
            "frechet_mnv2": quality.frechet_distance(orig_mn, anon_mn),
            "kernel_mnv2": quality.kernel_distance(orig_mn, anon_mn),
            "per_category": {
                c: {
                    "frechet_mnv2": quality.frechet_distance(orig_mn[ix], anon_mn[ix]),
                    "kernel_mnv2": quality.kernel_distance(orig_mn[ix], anon_mn[ix]),
                    "crops": len(ix),
                }
                for c, ix in cat_idx.items()
            },
            "ssim_outside": float(np.nanmean([v for ds in datasets for v in ssim[ds]])),
        },
        "product": thwarting * u.map(),
        "per_dataset": per_dataset,
    }


def _thumb(frame: np.ndarray, width: int = 320) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(frame, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


HEADLINE_KEYS = [
    ("thwarting_pets09", "privacy.reid_pets09.thwarting_rate"),
    ("strongest_rank1_person", "privacy.strongest.person.rank1"),
    ("strongest_rank1_car", "privacy.strongest.car.rank1"),
    ("leak_rate", "privacy.leak_rate"),
    ("map50", "utility.map50"),
    ("count_accuracy", "utility.count_accuracy"),
    ("frechet_mnv2", "quality.frechet_mnv2"),
    ("kernel_mnv2", "quality.kernel_mnv2"),
    ("ssim_outside", "quality.ssim_outside"),
    ("product", "product"),
]


def _get(d: dict, dotted: str):
    for k in dotted.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    return d


def headline(report: dict) -> list[dict]:
    return [
        {"method": name, **{k: _get(m, path) for k, path in HEADLINE_KEYS}} for name, m in report["methods"].items()
    ]


def run_eval(
    out: Path,
    mode: str = "small",
    methods: list[str] | None = None,
    shared: Path | None = None,
    seed: int = 0,
    judge: JudgeSettings | None = None,
    force: bool = False,
    progress: bool = False,
    sizes: Sizes | None = None,
    inversion_steps: int = 0,
) -> dict:
    """Evaluate and write OUT/report.json, OUT/summary.md and the PNG plots, atomically: they
    are built in a hidden sibling folder that is renamed to OUT only when complete."""
    from . import report as report_mod

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"output {out} exists; pass --force to overwrite it")
    report, thumbs = evaluate(mode, methods, shared, seed, judge, progress, sizes, inversion_steps)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.inspire-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        report_mod.write_all(tmp, report, thumbs)
        if out.exists():
            old = out.parent / f".{out.name}.inspire-old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


__all__ = ["EvalError", "JudgeSettings", "MODES", "Sizes", "evaluate", "run_eval", "headline"]
