"""Detector utility: detection mAP@0.5 and counting accuracy on anonymized frames, with the
judge detector's detections on the original frames as ground truth (paper §VI-C)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..boxes import iou_matrix
from ..types import Box, Detection


def match(gt: list[Box], preds: list[Box], scores: list[float], threshold: float = 0.5) -> list[bool]:
    """VOC greedy matching: predictions by falling score take the best still-free ground
    truth at IoU >= threshold. Returns true/false positive per prediction (input order)."""
    ious = iou_matrix(preds, gt)
    taken = np.zeros(len(gt), bool)
    tp = [False] * len(preds)
    for i in np.argsort(-np.asarray(scores, float), kind="stable"):
        if not len(gt):
            break
        cand = np.where(taken, -1.0, ious[i])
        j = int(cand.argmax())
        if cand[j] >= threshold:
            taken[j] = True
            tp[i] = True
    return tp


def average_precision(scores: list[float], tp: list[bool], n_gt: int) -> float:
    """All-point interpolated AP (VOC 2010+). NaN without ground truth."""
    if n_gt == 0:
        return float("nan")
    if not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    hits = np.asarray(tp, float)[order]
    recall = np.cumsum(hits) / n_gt
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.where(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


@dataclass
class UtilityAccumulator:
    """Frames are added one by one; per category it keeps the scored matches and the counts."""

    categories: tuple[str, ...] = ("person", "car")
    iou_threshold: float = 0.5
    scores: dict = field(default_factory=lambda: defaultdict(list))
    tp: dict = field(default_factory=lambda: defaultdict(list))
    n_gt: dict = field(default_factory=lambda: defaultdict(int))
    counts: dict = field(default_factory=lambda: defaultdict(list))  # category -> [(true, predicted)]

    def add(self, reference: list[Detection], predicted: list[Detection]) -> None:
        for cat in self.categories:
            gt = [d.box for d in reference if d.category == cat]
            pr = [d for d in predicted if d.category == cat]
            sc = [d.score for d in pr]
            self.tp[cat] += match(gt, [d.box for d in pr], sc, self.iou_threshold)
            self.scores[cat] += sc
            self.n_gt[cat] += len(gt)
            self.counts[cat].append((len(gt), len(pr)))

    def ap(self) -> dict[str, float]:
        return {c: average_precision(self.scores[c], self.tp[c], self.n_gt[c]) for c in self.categories}

    def map(self) -> float:
        """Mean AP over the categories that have ground truth."""
        aps = [v for v in self.ap().values() if not np.isnan(v)]
        return float(np.mean(aps)) if aps else float("nan")

    def count_accuracy(self) -> float:
        """1 - total absolute count error / total true count (floored at 0), over frames and categories."""
        pairs = np.array([p for c in self.categories for p in self.counts[c]], float).reshape(-1, 2)
        total = pairs[:, 0].sum()
        if total == 0:
            return float("nan")
        return float(max(0.0, 1.0 - np.abs(pairs[:, 1] - pairs[:, 0]).sum() / total))

    def count_exact(self) -> float:
        """Share of (frame, category) pairs whose count is exactly right."""
        pairs = [p for c in self.categories for p in self.counts[c]]
        return float(np.mean([t == p for t, p in pairs])) if pairs else float("nan")
