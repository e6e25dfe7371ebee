"""Outputs of `inspire eval`: report.json, summary.md and PNG plots (matplotlib, Agg).

Plots after the paper's figures: utility vs privacy scatter (figs. 10/11), bars per dataset
(figs. 6/7), the Gaussian (k, sigma) grid of the edge extractor, and example frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from . import EvalError

FAMILY_COLORS = {"reference": "#555555", "inspire": "#1f77b4", "inspire-gaussian": "#7fb3e0", "baseline": "#d62728"}
HEADLINE_COLUMNS = [
    ("method", "method"),
    ("thwarting_pets09", "thwarting (PETS09 re-id)"),
    ("strongest_rank1_person", "strongest rank-1 person"),
    ("strongest_rank1_car", "strongest rank-1 car"),
    ("leak_rate", "leak rate"),
    ("map50", "mAP@0.5"),
    ("count_accuracy", "count acc."),
    ("frechet_mnv2", "Fréchet (MNv2)"),
    ("kernel_mnv2", "kernel (MNv2)"),
    ("ssim_outside", "SSIM outside"),
    ("product", "product"),
]


def _pyplot():
    try:
        import matplotlib
    except ImportError as e:
        raise EvalError("plots need matplotlib: pip install matplotlib (the eval extra)") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Decimals of a figure in a table cell, by its key (any other: 3).
DECIMALS = {"frechet_mnv2": 1}


def cell(v, key: str = "", decimals: dict[str, int] = DECIMALS) -> str:
    """A figure as a markdown table cell: – for None, text as it is, a number with
    `decimals[key]` decimals (3 for a key not listed)."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return f"{v:.{decimals.get(key, 3)}f}"


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(t for _, t in HEADLINE_COLUMNS) + " |", "|" + "---|" * len(HEADLINE_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(cell(r.get(k), k) for k, _ in HEADLINE_COLUMNS) + " |")
    return "\n".join(lines)


def markdown(report: dict, plots: list[str]) -> str:
    s, ref = report["sizes"], report["reference"]
    j, p = report["judge"], report["pipeline_detector"]
    frames = ", ".join(f"{ds} {n}" for ds, n in s["frames"].items())
    probes = ", ".join(f"{k} {v}" for k, v in s["probes"].items())
    lines = [
        f"# inspire eval ({report['mode']} mode)",
        "",
        f"{report['tool']}, seed {report['seed']}, {report['created_utc']}, {report['wall_s']} s.",
        "",
        f"Frames: {frames}. Instance crops: {probes}. PETS09 re-id: {s['pets09_queries']} queries "
        f"({s['pets09_query_identities']} identities) against {s['pets09_gallery_crops']} gallery crops "
        f"({s['pets09_gallery_identities']} identities) from other frames.",
        f"Pipeline detector: {p['model']} at {p['input_size']}; judge: {j['model']} at {j['input_size']} "
        f"(score >= {j['score_threshold']}, IoU >= {j['iou_threshold']}).",
        f"Attacker rank-1 on un-anonymized PETS09 queries: {cell(ref['reid_pets09_rank1_unanonymized'])} "
        f"(chance {cell(ref['reid_pets09_rank1_chance'])}).",
        "",
        markdown_table(report["headline"]),
        "",
        "Lower is more private for rank-1 and leak rate; higher is better for thwarting, mAP, count accuracy, "
        "SSIM and the product; lower Fréchet/kernel distance = replacements look more like the originals.",
        "",
        "## Definitions",
        "",
        *[f"- **{k}**: {v}" for k, v in report["definitions"].items()],
        "",
        "## Per dataset",
        "",
        "| method | dataset | strongest rank-1 | leak rate | mAP@0.5 | count acc. | SSIM outside | product |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in report["methods"].items():
        for ds, d in m["per_dataset"].items():
            cells = [d["strongest_rank1"], d["leak_rate"], d["map50"], d["count_accuracy"], d["ssim_outside"]]
            lines.append(f"| {name} | {ds} | " + " | ".join(cell(v) for v in [*cells, d["product"]]) + " |")
    inverted = {n: m["privacy"]["inversion"] for n, m in report["methods"].items() if "inversion" in m["privacy"]}
    if inverted:
        lines += [
            "",
            "## Model inversion",
            "",
            "| method | PSNR anon. (dB) | PSNR inverted (dB) | person rank-1 anon. | person rank-1 inverted |",
            "|---|---|---|---|---|",
        ]
        for n, v in inverted.items():
            cells = [v["psnr_anonymized"], v["psnr_inverted"], v["rank1_person_anonymized"], v["rank1_person_inverted"]]
            lines.append(f"| {n} | " + " | ".join(cell(c) for c in cells) + " |")
    lines += ["", "## Plots", ""] + [f"![{Path(f).stem}]({f})" for f in plots] + [""]
    return "\n".join(lines)


def scatter(report: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for name, m in report["methods"].items():
        x, y = m["privacy"]["reid_pets09"]["thwarting_rate"], m["utility"]["map50"]
        if x is None or y is None:
            continue
        grid = m["family"] == "inspire-gaussian"
        ax.scatter(x, y, s=30 if grid else 60, color=FAMILY_COLORS.get(m["family"], "k"), edgecolor="k", zorder=3)
        label = name.removeprefix("inspire-") if grid else name
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=5.5 if grid else 7)
    for family, color in FAMILY_COLORS.items():
        ax.scatter([], [], s=40, color=color, edgecolor="k", label=family)
    ax.legend(fontsize=7, loc="lower left")
    xs = np.linspace(0.01, 1, 200)
    for prod in (0.25, 0.5, 0.75):
        ax.plot(xs, prod / xs, ":", color="#aaaaaa", lw=0.8, zorder=1)
        ax.text(min(1.0, prod / 0.98), 0.98, f"{prod}", color="#888888", fontsize=7)
    ax.set(
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        xlabel="privacy: thwarting rate (PETS09 re-id, 1 - rank-1)",
        ylabel="utility: detection mAP@0.5 (judge)",
        title="Utility vs privacy (dotted: product)",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def bars(report: dict, dataset: str, path: Path) -> None:
    plt = _pyplot()
    names = [n for n, m in report["methods"].items() if dataset in m["per_dataset"]]
    series = [
        ("privacy (1 - strongest rank-1)", "privacy"),
        ("1 - leak rate", "leak_rate"),
        ("mAP@0.5", "map50"),
        ("product", "product"),
    ]
    fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(names) + 2), 4.5))
    width = 0.8 / len(series)
    for k, (label, key) in enumerate(series):
        vals = []
        for n in names:
            v = report["methods"][n]["per_dataset"][dataset][key]
            vals.append(np.nan if v is None else (1 - v if key == "leak_rate" else v))
        ax.bar(np.arange(len(names)) + (k - (len(series) - 1) / 2) * width, vals, width, label=label)
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set(ylim=(0, 1.05), title=f"{dataset}: privacy and utility per method")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gaussian_grid(report: dict, path: Path) -> bool:
    """Heatmaps of thwarting rate, mAP and product over the edge blur's (k, sigma) grid."""
    from .methods import GAUSSIAN_GRID

    ks, ss = sorted({k for k, _ in GAUSSIAN_GRID}), sorted({s for _, s in GAUSSIAN_GRID})
    methods = report["methods"]
    if not all(f"inspire-k{k}s{s}" in methods for k, s in GAUSSIAN_GRID):
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, (title, get) in zip(
        axes,
        [
            ("thwarting (PETS09)", lambda m: m["privacy"]["reid_pets09"]["thwarting_rate"]),
            ("mAP@0.5", lambda m: m["utility"]["map50"]),
            ("product", lambda m: m["product"]),
        ],
        strict=True,
    ):
        grid = np.array([[get(methods[f"inspire-k{k}s{s}"]) or np.nan for s in ss] for k in ks], float)
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1)
        for (r, c), v in np.ndenumerate(grid):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", color="w", fontsize=8)
        ax.set_xticks(range(len(ss)), [f"σ={s}" for s in ss])
        ax.set_yticks(range(len(ks)), [f"k={k}" for k in ks])
        ax.set_title(title)
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle("inspire (learned) with Gaussian edge blur (k, σ)")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def examples(thumbs: dict, path: Path) -> None:
    """One frame per dataset and method, side by side (rows: methods)."""
    plt = _pyplot()
    names = list(thumbs)
    datasets = sorted({ds for t in thumbs.values() for ds in t}, key=["pets09", "camvid"].index)
    fig, axes = plt.subplots(len(names), len(datasets), figsize=(3.2 * len(datasets), 2.3 * len(names)), squeeze=False)
    for r, n in enumerate(names):
        for c, ds in enumerate(datasets):
            ax = axes[r][c]
            ax.axis("off")
            if ds in thumbs[n]:
                ax.imshow(cv2.cvtColor(thumbs[n][ds], cv2.COLOR_BGR2RGB))
            ax.set_title(f"{n} / {ds}", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(folder: Path, report: dict, thumbs: dict) -> list[str]:
    """Write the plots, summary.md and (last) report.json into `folder`; returns the file names."""
    folder = Path(folder)
    plots = ["utility_privacy.png"]
    scatter(report, folder / plots[0])
    for ds in report["sizes"]["frames"]:
        plots.append(f"bars_{ds}.png")
        bars(report, ds, folder / plots[-1])
    if gaussian_grid(report, folder / "gaussian_grid.png"):
        plots.append("gaussian_grid.png")
    plots.append("examples.png")
    examples(thumbs, folder / "examples.png")
    files = [*plots, "summary.md", "report.json"]
    report["files"] = files
    (folder / "summary.md").write_text(markdown(report, plots))
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return files
