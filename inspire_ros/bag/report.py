"""What a sanitize run did: per-topic counts, per-frame records, failures, timing.

Written as JSON with --report and read back by `inspire bag verify`, which uses the per-frame
records to check that pixels changed only inside the reported instance boxes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..io.media import AtomicPath
from ..track.receipt import coverage_line

ANONYMIZE, COPY, IMAGE_NOT_SELECTED = "anonymize", "copy", "image-not-selected"
EXCLUDED = "excluded"  # --exclude-topics: not written at all
OLD_MARKER = "previous-marker"  # a ROS 1 input's own sanitize marker: replaced by this run's
DEPTH = "depth"  # a depth (non-picture) image topic: the `depth` policy (copy | drop | invalidate)
_DEPTH_SAYS = {
    "copy": "kept as recorded: depth NOT anonymized",
    "drop": "left out of the output (depth policy drop)",
    "invalidate": "pixels of the instances replaced in the paired colour frame set invalid (0/NaN); "
    "frames without a pair invalidated whole",
}


@dataclass
class TopicStats:
    topic: str
    msgtype: str
    role: str  # anonymize | copy | image-not-selected (an image topic left out by --topics) | excluded
    messages_in: int = 0
    messages_out: int = 0
    frames_unchanged: int = 0  # anonymized, nothing to replace: original bytes kept
    frames_changed: int = 0  # at least one instance replaced, or bytes it did not read removed
    frames_scrubbed: int = 0  # of frames_changed: only row padding zeroed or metadata removed
    frames_blanked: int = 0
    frames_dropped: int = 0
    frames_from_journal: int = 0  # --resume: taken from the interrupted run's journal, not anonymized again
    instances: Counter = field(default_factory=Counter)  # category -> count
    encodings: Counter = field(default_factory=Counter)  # Image.encoding / CompressedImage.format -> frames
    failures: Counter = field(default_factory=Counter)  # reason -> frames
    coverage: dict | None = None  # the topic's privacy receipt (track.receipt.Receipt.to_dict())
    depth_policy: str | None = None  # role depth: copy | drop | invalidate
    frames_invalidated: int = 0  # role depth, invalidate: frames invalidated whole (no colour pair)

    @property
    def frames_anonymized(self) -> int:
        return self.frames_unchanged + self.frames_changed

    @property
    def frames_failed(self) -> int:
        return self.frames_blanked + self.frames_dropped

    def to_dict(self) -> dict:
        out = {
            "topic": self.topic,
            "type": self.msgtype,
            "role": self.role,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
        }
        if self.role == ANONYMIZE:
            out |= {
                "frames_anonymized": self.frames_anonymized,
                "frames_changed": self.frames_changed,
                "frames_scrubbed": self.frames_scrubbed,
                "frames_unchanged": self.frames_unchanged,
                "frames_blanked": self.frames_blanked,
                "frames_dropped": self.frames_dropped,
                "frames_from_journal": self.frames_from_journal,
                "instances": dict(self.instances),
                "encodings": dict(self.encodings),
                "failures": dict(self.failures),
            }
            if self.coverage is not None:
                out["coverage"] = self.coverage
        elif self.role == DEPTH:
            out |= {
                "depth_policy": self.depth_policy,
                "anonymized": False,
                "policy": _DEPTH_SAYS.get(self.depth_policy or "", ""),
                "frames_unchanged": self.frames_unchanged,
                "frames_changed": self.frames_changed,
                "frames_invalidated": self.frames_invalidated,
                "frames_dropped": self.frames_dropped,
                "frames_from_journal": self.frames_from_journal,
                "instances": dict(self.instances),
                "encodings": dict(self.encodings),
                "failures": dict(self.failures),
            }
        return out


@dataclass
class FrameRecord:
    """A frame that was changed, blanked or dropped; `index` counts the topic's input messages."""

    topic: str
    index: int
    timestamp: int
    status: str  # anonymized | blanked | dropped | invalidated (a depth frame, whole)
    instances: list[dict] = field(default_factory=list)  # Instance.to_dict()
    error: str | None = None
    scrubbed: str | None = None  # bytes the anonymizer never saw, removed (padding, metadata)

    def to_dict(self) -> dict:
        out = {"topic": self.topic, "index": self.index, "timestamp": self.timestamp, "status": self.status}
        if self.instances:
            out["instances"] = self.instances
        if self.error:
            out["error"] = self.error
        if self.scrubbed:
            out["scrubbed"] = self.scrubbed
        return out


@dataclass
class SanitizeReport:
    input: str
    output: str
    input_format: str
    output_format: str
    method: str
    seed: int | None
    tool: str
    preset: str | None = None
    protection_reduced: list[str] = field(default_factory=list)
    topics: dict[str, TopicStats] = field(default_factory=dict)
    frames: list[FrameRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: str | None = None  # --resume: the journal of the interrupted run

    @property
    def frames_from_journal(self) -> int:
        return sum(t.frames_from_journal for t in self.anonymized_topics())

    def anonymized_topics(self) -> list[TopicStats]:
        return [t for t in self.topics.values() if t.role == ANONYMIZE]

    @property
    def frames_in(self) -> int:
        return sum(t.messages_in for t in self.anonymized_topics())

    @property
    def frames_failed(self) -> int:
        # Depth topics too: a frame that was not depth, or could not be invalidated, was dropped.
        return sum(t.frames_failed for t in self.topics.values() if t.role in (ANONYMIZE, DEPTH))

    def to_dict(self) -> dict:
        messages = sum(t.messages_in for t in self.topics.values())
        instances: Counter = Counter()
        for t in self.anonymized_topics():
            instances.update(t.instances)
        return {
            "tool": self.tool,
            "input": self.input,
            "output": self.output,
            "input_format": self.input_format,
            "output_format": self.output_format,
            "method": self.method,
            "preset": self.preset,
            "protection_reduced": self.protection_reduced,
            "seed": self.seed,
            "summary": {
                "messages": messages,
                "frames": self.frames_in,
                "frames_failed": self.frames_failed,
                "frames_from_journal": self.frames_from_journal,
                "instances": dict(instances),
                "seconds": round(self.seconds, 3),
                "frames_per_second": round(self.frames_in / self.seconds, 2) if self.seconds > 0 else None,
                "messages_per_second": round(messages / self.seconds, 1) if self.seconds > 0 else None,
            },
            "topics": [t.to_dict() for t in self.topics.values()],
            "resumed_from": self.resumed_from,
            "notes": self.notes,
            "frames": [f.to_dict() for f in self.frames],
        }

    def write(self, path: Path) -> None:
        out = AtomicPath(path)
        try:
            out.tmp.write_text(json.dumps(self.to_dict(), indent=1))
            out.commit()
        finally:
            out.discard()

    def summary_lines(self) -> list[str]:
        d = self.to_dict()["summary"]
        rate = f", {d['frames_per_second']} frames/s" if d["frames_per_second"] and self.frames_in else ""
        lines = [
            f"wrote {self.output} ({self.output_format}) from {self.input_format}: {d['messages']} message(s), "
            f"{self.frames_in} image frame(s) in {d['seconds']:.1f} s{rate}"
        ]
        if self.resumed_from:
            lines.append(
                f"  resumed: {self.frames_from_journal} frame(s) taken from the journal of the interrupted run "
                f"(not anonymized again), {self.frames_in - self.frames_from_journal} anonymized now"
            )
        for t in self.topics.values():
            if t.role == ANONYMIZE:
                found = ", ".join(f"{n} {c}" for c, n in sorted(t.instances.items())) or "nothing"
                line = (
                    f"  {t.topic} [{t.msgtype.rsplit('/', 1)[-1]} {', '.join(sorted(t.encodings)) or '-'}]: "
                    f"{t.messages_in} in, {t.messages_out} out, {t.frames_changed} changed, replaced {found}"
                )
                if t.frames_scrubbed:
                    line += f"; {t.frames_scrubbed} cleaned of bytes it could not read (padding, metadata)"
                if t.frames_failed:
                    reason = t.failures.most_common(1)[0][0]
                    line += f"; {t.frames_blanked} blanked, {t.frames_dropped} dropped (first reason: {reason})"
                lines.append(line)
                if t.coverage is not None:
                    lines.append(f"    {coverage_line(t.coverage, self.preset)}")
            elif t.role == IMAGE_NOT_SELECTED:
                lines.append(f"  {t.topic} [{t.msgtype}]: NOT anonymized (not in --topics), {t.messages_in} copied")
            elif t.role == DEPTH:
                line = (
                    f"  {t.topic} [{t.msgtype.rsplit('/', 1)[-1]} {', '.join(sorted(t.encodings)) or '-'}]: depth, "
                    f"policy {t.depth_policy}: {_DEPTH_SAYS.get(t.depth_policy or '', '')}; {t.messages_in} in, "
                    f"{t.messages_out} out"
                )
                if t.depth_policy == "invalidate":
                    line += f", {t.frames_changed} invalidated in boxes, {t.frames_invalidated} whole"
                if t.frames_dropped and t.depth_policy != "drop":
                    line += f", {t.frames_dropped} dropped (first reason: {t.failures.most_common(1)[0][0]})"
                lines.append(line)
            elif t.role == EXCLUDED:
                lines.append(
                    f"  {t.topic} [{t.msgtype}]: EXCLUDED (--exclude-topics), {t.messages_in} message(s) left out"
                )
        copied = [t for t in self.topics.values() if t.role == COPY]
        if copied:
            n = sum(t.messages_in for t in copied)
            lines.append(f"  {len(copied)} other topic(s), {n} message(s) copied unchanged")
        lines += [f"  note: {n}" for n in self.notes]
        return lines
