"""The privacy receipt of a stream: what was replaced and why (see Detection.source)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

SOURCES = ("detected", "confirmed", "coasted", "filled", "extended")


class Replaced(Protocol):
    """What a receipt counts: a Detection to replace or an Instance replaced."""

    category: str
    source: str
    track_id: int | None


@dataclass
class Receipt:
    frames: int = 0
    # Frames where at least one instance came from the tracker, not from that frame's detector.
    frames_covered_by_tracks: int = 0
    replaced: Counter = field(default_factory=Counter)  # (category, source) -> instances
    tracks: set = field(default_factory=set)
    gaps_filled: list[int] = field(default_factory=list)  # offline: each filled gap's length in frames
    resets: Counter = field(default_factory=Counter)  # live: why the tracker started over

    def add(self, protected: Iterable[Replaced]) -> None:
        protected = list(protected)
        self.frames += 1
        if any(d.source != "detected" for d in protected):
            self.frames_covered_by_tracks += 1
        for d in protected:
            self.replaced[(d.category, d.source)] += 1
            if d.track_id is not None:
                self.tracks.add(d.track_id)

    def to_dict(self) -> dict:
        per_category: dict[str, dict[str, int]] = {}
        for (cat, src), n in sorted(self.replaced.items()):
            per_category.setdefault(cat, {})[src] = n
        return {
            "frames": self.frames,
            "frames_covered_by_tracks": self.frames_covered_by_tracks,
            "instances": per_category,
            "tracks": len(self.tracks),
            "gaps_filled": len(self.gaps_filled),
            "gap_frames_filled": int(sum(self.gaps_filled)),
            "longest_gap": max(self.gaps_filled, default=0),
            "tracker_resets": dict(self.resets),
        }


def by_source(receipt: dict) -> Counter:
    """Instances of a receipt (`Receipt.to_dict()`) per source, all categories together."""
    counts: Counter = Counter()
    for per_source in receipt["instances"].values():
        counts.update(per_source)
    return counts


def coverage_line(receipt: dict, preset: str | None) -> str:
    """One line for a person: what the tracker added to what the detector found."""
    counts = by_source(receipt)
    added = ", ".join(f"{counts[s]} {s}" for s in SOURCES[1:] if counts[s]) or "nothing"
    return (
        f"coverage ({preset or 'no preset'}): {counts['detected']} detected, by tracks {added}; "
        f"{receipt['tracks']} track(s), {receipt['frames_covered_by_tracks']} frame(s) covered by tracks, "
        f"{receipt['gaps_filled']} gap(s) filled (longest {receipt['longest_gap']} frames)"
    )
