"""`inspire bag verify INPUT OUTPUT`: is OUTPUT a faithful, sanitized copy of INPUT?

Checked: OUTPUT carries the marker of `inspire bag sanitize` (see `marker`) and it names INPUT
(the digest of INPUT's messages) and, given --report, that report; the same topics, types,
definitions, hashes and QoS (or callerid/latching), less the topics the run excluded; the same
message counts and log timestamps per topic; non-image messages byte-identical; no topic in
OUTPUT that nests an image, carries encoded pictures or video, or mixes an image type with
another; image messages with the same header, size and encoding/format; every image frame kept
as it was fully read (exactly step x height bytes, zero row padding, bytes that fit the encoding
label, within max_frame_pixels; no compressed metadata or trailing bytes). With the sanitize
report (--report) also: every frame that differs is listed there, its changed pixels lie inside
the reported instance boxes, blanked frames are black and dropped frames are absent.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

import cv2
import numpy as np
from rosbags.interfaces import Connection

from ..io import encodings
from ..io.image_msgs import raw_image, unread_bytes
from ..types import FrameStatus
from . import marker as marker_mod
from .definitions import canonical, check_type, default_typestore, image_typestore, is_image
from .errors import BagError
from .images import ImageCodec
from .report import ANONYMIZE, DEPTH, EXCLUDED, IMAGE_NOT_SELECTED, OLD_MARKER
from .source import BagSource

# Payload pixels are compared, so a change stays where it was made; one pixel of slack covers a
# YUV 4:2:2 pair straddling a box edge.
BOX_MARGIN = 1
BLACK_LEVEL = 16  # a blanked JPEG decodes to near-black, not exactly 0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyResult:
    input: str
    output: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        out = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        failed = [c.name for c in self.checks if not c.ok]
        out.append(
            f"verify {'PASSED' if not failed else 'FAILED'}: {self.output} against {self.input}"
            + (f" ({len(failed)} check(s) failed: {', '.join(failed)})" if failed else "")
        )
        return out


def load_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BagError(f"cannot read report {path}: {e}") from e
    if not isinstance(report, dict) or "frames" not in report or "topics" not in report:
        raise BagError(f"{path} is not a report written by `inspire bag sanitize --report`")
    return report


def verify(src: Path, dst: Path, report: dict | None = None) -> VerifyResult:
    result = VerifyResult(str(src), str(dst))
    with BagSource(src) as a, BagSource(dst) as b:
        ros1 = b.format.kind == "rosbag1"
        marker, why_not = _read_marker(b)
        roles = _roles(marker, report)
        depth = _depth_policies(marker, report)
        left_out = {t for t, r in roles.items() if r in (EXCLUDED, OLD_MARKER)}
        left_out |= {t for t, p in depth.items() if roles.get(t) == DEPTH and p == "drop"}
        ins = [c for c in a.connections if not marker_mod.is_marker_connection(c, a.format.kind == "rosbag1")]
        outs = [c for c in b.connections if not marker_mod.is_marker_connection(c, ros1)]
        result.checks += _compare_connections(ins, outs, a.format.kind == b.format.kind, left_out)
        if a.format.kind != b.format.kind:
            result.checks.append(Check("format", False, f"input is {a.format.kind}, output is {b.format.kind}"))
            return result
        result.checks.append(_content_check(outs, ros1))
        streams = _Streams(a, b, report, roles, marker, depth)
        streams.run()
        result.checks.append(_marker_check(marker, why_not, streams.input_sha256(), report, roles))
        result.checks += streams.checks()
    return result


def _read_marker(b: BagSource) -> tuple[dict | None, str | None]:
    if b.format.kind != "rosbag1":
        return marker_mod.parse(b.custom_data.get(marker_mod.MARKER_KEY))
    conns = [c for c in b.connections if marker_mod.is_marker_connection(c, True)]
    for _, _, data in b.messages(conns):
        return marker_mod.parse(marker_mod.ros1_string(data))
    return marker_mod.parse(None)


def _roles(marker: dict | None, report: dict | None) -> dict[str, str]:
    """Each topic's role in the run: from the marker, else from the report, else unknown ({})."""
    if marker is not None:
        return {str(t): str(r) for t, r in marker["topics"].items()}
    if report is not None:
        return {t["topic"]: t.get("role", "") for t in report.get("topics", []) if isinstance(t, dict)}
    return {}


def _depth_policies(marker: dict | None, report: dict | None) -> dict[str, str]:
    """Each depth topic's policy (copy | drop | invalidate): from the marker, else the report."""
    if marker is not None:
        return {str(t): str(p) for t, p in (marker.get("depth") or {}).items()}
    if report is not None:
        return {
            t["topic"]: str(t.get("depth_policy"))
            for t in report.get("topics", [])
            if isinstance(t, dict) and t.get("role") == DEPTH
        }
    return {}


def _marker_check(
    marker: dict | None, why_not: str | None, input_sha256: str, report: dict | None, roles: dict[str, str]
) -> Check:
    if marker is None:
        where = "metadata custom_data" if why_not == "no marker" else "its marker"
        return Check(
            "sanitized",
            False,
            f"output has {why_not} ({marker_mod.MARKER_KEY} in rosbag2 {where}, topic {marker_mod.MARKER_TOPIC} in "
            "ROS 1): it was not written by `inspire bag sanitize` (or by a version before the marker)",
        )
    problems = []
    if marker.get("input_sha256") != input_sha256:
        problems.append("the marker names another input (digest of the input's messages differs)")
    if report is not None and marker.get("report_sha256") != marker_mod.report_sha256(report):
        problems.append("the report is not the one this output was written with")
    if problems:
        return Check("sanitized", False, "; ".join(problems))
    detail = f"written by {marker.get('tool', '?')} from this input"
    if report is not None:
        detail += " with this report"
    anonymized = sorted(t for t, r in roles.items() if r == ANONYMIZE)
    detail += f"; {len(anonymized)} image topic(s) anonymized"
    for role, what in (
        (IMAGE_NOT_SELECTED, "image topics NOT anonymized (--topics)"),
        (DEPTH, "depth topics (not anonymized as pictures; see the report for their policy)"),
        (EXCLUDED, "excluded"),
    ):
        named = sorted(t for t, r in roles.items() if r == role)
        if named:
            detail += f"; {what}: {', '.join(named)}"
    return Check("sanitized", True, detail)


def _content_check(outs: list[Connection], ros1: bool) -> Check:
    """What sanitize refuses must not be in an output: nested images, encoded media, a topic
    that mixes an image type with another."""
    bundled = default_typestore(ros1)
    problems, types = [], defaultdict(set)
    for conn in outs:
        types[conn.topic].add(canonical(conn.msgtype))
        try:
            check = check_type(conn, bundled)
        except BagError as e:
            problems.append(f"{conn.topic}: definition unreadable ({str(e)[:80]})")
            continue
        if check.embedded_images:
            problems.append(f"{conn.topic} ({conn.msgtype}) nests {', '.join(check.embedded_images)}")
        if check.encoded_media:
            problems.append(f"{conn.topic} carries encoded pictures or video ({'; '.join(check.encoded_media)})")
    for topic, msgtypes in sorted(types.items()):
        if len(msgtypes) > 1 and any(is_image(m) for m in msgtypes):
            problems.append(f"{topic} mixes {', '.join(sorted(msgtypes))}")
    detail = "no nested images, encoded media or mixed image topics" if not problems else "; ".join(problems[:5])
    return Check("content", not problems, detail)


def _compare_connections(
    ins: list[Connection], outs: list[Connection], same_kind: bool, left_out: set[str] = frozenset()
) -> list[Check]:
    topics_in = {c.topic: c.msgtype for c in ins}
    topics_out = {c.topic: c.msgtype for c in outs}
    missing = sorted(topics_in.keys() - topics_out.keys() - left_out)
    extra = sorted(topics_out.keys() - topics_in.keys())
    kept = sorted(left_out & topics_out.keys())
    checks = [
        Check(
            "topics",
            not missing and not extra and not kept,
            f"{len(topics_in)} topic(s)"
            + (f", {len(left_out & topics_in.keys())} excluded by the run" if left_out & topics_in.keys() else "")
            + (f"; missing in output: {', '.join(missing)}" if missing else "")
            + (f"; not in input: {', '.join(extra)}" if extra else "")
            + (f"; excluded by the run but in the output: {', '.join(kept)}" if kept else ""),
        )
    ]
    wrong_type = [f"{t} ({m} -> {topics_out[t]})" for t, m in topics_in.items() if topics_out.get(t, m) != m]
    checks.append(Check("types", not wrong_type, "same message types" if not wrong_type else "; ".join(wrong_type)))
    if not same_kind:
        return checks
    problems = []
    for conn in ins:
        candidates = [o for o in outs if o.topic == conn.topic and o.msgtype == conn.msgtype]
        if not candidates:
            continue  # already reported as a missing topic or type
        if not any(_same_connection(conn, o) for o in candidates):
            problems.append(f"{conn.topic}: {_connection_difference(conn, candidates[0])}")
    checks.append(
        Check(
            "connections",
            not problems,
            "same definitions, hashes and QoS/callerid" if not problems else "; ".join(problems[:5]),
        )
    )
    return checks


def _same_connection(a: Connection, b: Connection) -> bool:
    return not _connection_difference(a, b)


def _connection_difference(a: Connection, b: Connection) -> str:
    diffs = []
    if a.msgdef.data.strip() and a.msgdef.data != b.msgdef.data:
        diffs.append("message definition differs")
    if a.digest and a.digest != b.digest:
        diffs.append(f"type hash {a.digest} -> {b.digest or 'none'}")
    if a.ext != b.ext:
        diffs.append(f"{type(a.ext).__name__} {a.ext} -> {b.ext}")
    return ", ".join(diffs)


@dataclass
class _TopicTally:
    msgtype: str
    messages_in: int = 0
    messages_out: int = 0
    dropped: int = 0
    excluded: int = 0  # the topic was left out by the run (--exclude-topics)
    changed: int = 0  # image messages whose bytes differ
    problems: Counter = field(default_factory=Counter)
    example: dict = field(default_factory=dict)  # problem -> first (index, timestamp)

    def problem(self, what: str, index: int, timestamp: int) -> None:
        self.problems[what] += 1
        self.example.setdefault(what, (index, timestamp))


class _Streams:
    """Reads both bags side by side, pairing messages per topic in order."""

    def __init__(
        self,
        a: BagSource,
        b: BagSource,
        report: dict | None,
        roles: dict[str, str],
        marker: dict | None = None,
        depth: dict[str, str] | None = None,
    ):
        self.a, self.b, self.report = a, b, report
        self.ros1 = a.format.kind == "rosbag1"
        bundled = default_typestore(self.ros1)
        self.codecs: dict[tuple[str, str], ImageCodec] = {}  # (topic, type): a mixed topic has one per type
        self.image_topics: set[str] = set()
        for conn in a.connections:
            key = (conn.topic, canonical(conn.msgtype))
            if is_image(conn.msgtype) and key not in self.codecs:
                try:
                    self.codecs[key] = ImageCodec(conn, image_typestore(conn, bundled, a.typestore), self.ros1)
                except BagError:  # unreadable definition: its frames are reported unreadable
                    continue
                self.image_topics.add(conn.topic)
        self.records: dict[tuple[str, int], dict] = {}
        self.roles = roles
        self.anonymized_topics: set[str] | None = None
        if roles:
            self.anonymized_topics = {t for t, r in roles.items() if r == ANONYMIZE}
        self.left_out = {t for t, r in roles.items() if r in (EXCLUDED, OLD_MARKER)}
        depth = depth or {}
        self.left_out |= {t for t, p in depth.items() if roles.get(t) == DEPTH and p == "drop"}
        # Topics whose frames may differ from the input: the anonymized ones and invalidated depth.
        self.changeable = (
            None
            if self.anonymized_topics is None
            else self.anonymized_topics | {t for t, p in depth.items() if roles.get(t) == DEPTH and p == "invalidate"}
        )
        if report is not None:
            self.records = {(f["topic"], int(f["index"])): f for f in report.get("frames", [])}
        self.max_pixels = marker.get("max_frame_pixels") if marker is not None else None
        self.digest = marker_mod.InputDigest()
        self.tally: dict[str, _TopicTally] = {}
        self.pending_in: dict[str, deque] = defaultdict(deque)
        self.pending_out: dict[str, deque] = defaultdict(deque)

    def input_sha256(self) -> str:
        return self.digest.hexdigest()

    def _tally(self, conn: Connection) -> _TopicTally:
        return self.tally.setdefault(conn.topic, _TopicTally(conn.msgtype))

    def run(self) -> None:
        for item_in, item_out in zip_longest(self.a.messages(), self.b.messages()):
            if item_in is not None:
                conn, timestamp, data = item_in
                self.digest.add(conn, timestamp, data)
                if marker_mod.is_marker_connection(conn, self.ros1):
                    continue  # an input's own marker is not copied
                tally = self._tally(conn)
                index = tally.messages_in
                tally.messages_in += 1
                record = self.records.get((conn.topic, index))
                if conn.topic in self.left_out:
                    tally.excluded += 1
                elif record is not None and record.get("status") == FrameStatus.DROPPED:
                    tally.dropped += 1
                else:
                    self.pending_in[conn.topic].append((index, timestamp, bytes(data), canonical(conn.msgtype)))
                self._drain(conn.topic)
            if item_out is not None:
                conn, timestamp, data = item_out
                if marker_mod.is_marker_connection(conn, self.ros1):
                    continue
                self._tally(conn).messages_out += 1
                self.pending_out[conn.topic].append((timestamp, bytes(data)))
                self._drain(conn.topic)

    def _drain(self, topic: str) -> None:
        ins, outs = self.pending_in[topic], self.pending_out[topic]
        while ins and outs:
            index, t_in, data_in, msgtype = ins.popleft()
            t_out, data_out = outs.popleft()
            self._compare(topic, msgtype, index, t_in, data_in, t_out, data_out)

    def _compare(
        self, topic: str, msgtype: str, index: int, t_in: int, data_in: bytes, t_out: int, data_out: bytes
    ) -> None:
        tally = self.tally[topic]
        if t_in != t_out:
            tally.problem("log timestamp differs", index, t_in)
        codec = self.codecs.get((topic, msgtype))
        if data_in == data_out:
            record = self.records.get((topic, index))
            if record is not None and record.get("status") in (FrameStatus.ANONYMIZED, FrameStatus.BLANKED):
                tally.problem(f"frame reported {record['status']} is identical to the input", index, t_in)
            elif codec is not None and (self.anonymized_topics is None or topic in self.anonymized_topics):
                unread = self._unread(codec, data_in)
                if unread:
                    what = f"frame kept as it was carries bytes the anonymizer never read ({unread})"
                    tally.problem(what, index, t_in)
            return
        if codec is None:
            tally.problem("non-image message bytes differ", index, t_in)
            return
        tally.changed += 1
        if self.changeable is not None and topic not in self.changeable:
            tally.problem("image changed on a topic the run did not anonymize", index, t_in)
        record = self.records.get((topic, index))
        for problem in _image_problems(codec, data_in, data_out, record, self.report):
            tally.problem(problem, index, t_in)
        if record is not None and record.get("status") == FrameStatus.ANONYMIZED:
            unread = self._unread(codec, data_out)
            if unread:
                tally.problem(f"anonymized frame carries bytes the anonymizer never read ({unread})", index, t_in)

    def _unread(self, codec: ImageCodec, data: bytes) -> str | None:
        try:
            msg = codec.deserialize(data)
        except Exception:  # noqa: BLE001
            return "it cannot be deserialized"
        if encodings.is_depth(msg.format if codec.compressed else msg.encoding):
            return None  # depth is not a picture: its policy says what is kept, checked in _depth_problems
        unread = unread_bytes(msg, codec.compressed, self.max_pixels)
        return None if unread is None else unread.split(": ", 1)[0][:160]

    def checks(self) -> list[Check]:
        counts, messages, images = [], [], []
        for topic, t in sorted(self.tally.items()):
            expected_out = t.messages_in - t.dropped - t.excluded
            if t.messages_out != expected_out:
                dropped = f" - {t.dropped} dropped" if t.dropped else ""
                dropped += f" - {t.excluded} excluded" if t.excluded else ""
                counts.append(f"{topic}: {t.messages_in} in{dropped}, {t.messages_out} out")
            for what, n in t.problems.items():
                index, stamp = t.example[what]
                line = f"{topic}: {what} ({n}x, first at message {index}, t={stamp})"
                (images if topic in self.image_topics else messages).append(line)
        total_in = sum(t.messages_in for t in self.tally.values())
        n_images = sum(t.messages_in for topic, t in self.tally.items() if topic in self.image_topics)
        changed = sum(t.changed for t in self.tally.values())
        dropped = sum(t.dropped for t in self.tally.values())
        attribution = (
            "changes checked against the report's instance boxes"
            if self.report is not None
            else "no report given: changed pixels not attributed to instances"
        )
        return [
            Check("counts", not counts, "; ".join(counts) or f"{total_in} message(s), per topic as expected"),
            Check(
                "messages",
                not messages,
                "non-image messages byte-identical, same log timestamps" if not messages else "; ".join(messages[:5]),
            ),
            Check(
                "images",
                not images,
                f"{n_images} frame(s): {changed} changed, {dropped} dropped; same headers, sizes and encodings; "
                f"{attribution}"
                if not images
                else "; ".join(images[:5]),
            ),
        ]


def _image_problems(codec: ImageCodec, data_in: bytes, data_out: bytes, record: dict | None, report) -> list[str]:
    try:
        msg_in = codec.deserialize(data_in)
    except Exception:  # noqa: BLE001 - an undecodable input frame must not have survived as is
        failed = record is not None and record.get("status") in (FrameStatus.BLANKED, FrameStatus.DROPPED)
        return [] if failed else ["input frame unreadable"]
    try:
        msg_out = codec.deserialize(data_out)
    except Exception:  # noqa: BLE001
        return ["output frame cannot be deserialized"]
    problems = []
    if msg_in.header != msg_out.header:
        problems.append("header differs")
    fields = ("format",) if codec.compressed else ("height", "width", "encoding", "step", "is_bigendian")
    for name in fields:
        if getattr(msg_in, name) != getattr(msg_out, name):
            problems.append(f"{name} differs")
    if not codec.compressed and len(msg_in.data) != len(msg_out.data):
        problems.append("payload size differs")
    if problems or report is None:
        return problems
    if record is None:
        return ["frame changed but not listed in the report"]
    if record.get("status") == FrameStatus.BLANKED:
        return [] if _is_blank(codec, msg_out) else ["frame reported blanked is not black"]
    label = msg_in.format if codec.compressed else msg_in.encoding
    depth = encodings.is_depth(label)
    if record.get("status") == FrameStatus.INVALIDATED or depth:
        return _depth_problems(codec, msg_in, msg_out, record)
    if codec.compressed and _is_jpeg(msg_out.data):
        return []  # JPEG re-encoding changes every block a little: only size and format are checkable
    try:
        if codec.compressed:
            changed = encodings.compressed_changed_pixels(msg_in.format, msg_in.data, msg_out.data)
        else:
            changed = encodings.changed_pixels(raw_image(msg_in), raw_image(msg_out))
    except Exception as e:  # noqa: BLE001
        return [f"cannot compare pixels: {type(e).__name__}"]
    allowed = np.zeros(changed.shape, np.uint8)
    for inst in record.get("instances", []):
        x0, y0, x1, y1 = inst["box"]
        allowed[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 1
    if BOX_MARGIN:
        allowed = cv2.dilate(allowed, np.ones((2 * BOX_MARGIN + 1,) * 2, np.uint8))
    outside = changed & (allowed == 0)
    return [f"pixels changed outside the reported instance boxes ({int(outside.sum())} px)"] if outside.any() else []


def _depth_problems(codec: ImageCodec, msg_in, msg_out, record: dict) -> list[str]:
    """A depth frame may only lose depth: invalidated whole, or inside the reported boxes."""
    try:
        if codec.compressed:
            a = encodings.compressed_depth_pixels(msg_in.format, msg_in.data)
            b = encodings.compressed_depth_pixels(msg_out.format, msg_out.data)
            invalid_out, changed = b == 0, a != b
            if bytes(msg_in.data[:12]) != bytes(msg_out.data[:12]):
                return ["compressedDepth header differs"]
        else:
            raw_in, raw_out = raw_image(msg_in), raw_image(msg_out)
            changed = encodings.depth_changed_pixels(raw_in, raw_out)
            invalid_out = encodings.depth_changed_pixels(raw_out, encodings.invalidate_depth(raw_out, None)) == 0
    except Exception as e:  # noqa: BLE001
        return [f"cannot compare depth: {type(e).__name__}"]
    if (changed & ~invalid_out).any():
        return [f"depth values changed to something other than invalid ({int((changed & ~invalid_out).sum())} px)"]
    if record.get("status") == FrameStatus.INVALIDATED:
        return [] if invalid_out.all() else ["depth frame reported invalidated has valid pixels"]
    allowed = np.zeros(changed.shape, bool)
    for inst in record.get("instances", []):
        x0, y0, x1, y1 = inst["box"]
        allowed[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    outside = changed & ~allowed
    return [f"depth invalidated outside the reported boxes ({int(outside.sum())} px)"] if outside.any() else []


def _is_blank(codec: ImageCodec, msg) -> bool:
    try:
        return int(codec.decode(msg).max(initial=0)) <= BLACK_LEVEL
    except Exception:  # noqa: BLE001 - an encoding it cannot decode is blanked to zero bytes
        return not codec.compressed and not np.asarray(msg.data).any()


def _is_jpeg(data) -> bool:
    return bytes(np.asarray(data[:3], np.uint8)) == b"\xff\xd8\xff"
