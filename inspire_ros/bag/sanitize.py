"""`inspire bag sanitize`: every image message anonymized, every other message copied as bytes.

Everything that can be refused is refused before the output is created: unreadable input,
an existing output without --force, --topics naming something that is not an image topic, and
message types that nest an image the anonymizer would never see.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rosbags.interfaces import Connection
from tqdm import tqdm

from .. import __version__
from ..pipeline import Anonymizer
from .definitions import check_type, default_typestore, image_typestore, is_image
from .errors import BagError
from .images import ANONYMIZED, DROPPED, UNCHANGED, ImageCodec, ImageTopic
from .report import ANONYMIZE, COPY, IMAGE_NOT_SELECTED, FrameRecord, SanitizeReport, TopicStats
from .sink import BagSink, check_paths, plan_output
from .source import BagSource


@dataclass(frozen=True)
class SanitizeOptions:
    topics: tuple[str, ...] = ()  # image topics to anonymize; empty: every image topic
    storage: str | None = None  # rosbag2 output storage (sqlite3 | mcap); None: the input's
    compression: str | None = None  # none | zstd; None: the input's
    force: bool = False  # replace an existing output
    progress: bool = True  # tqdm bar on stderr
    jpeg_quality: int = 90  # re-encoding CompressedImage frames that changed


def connection_key(conn: Connection) -> tuple[str, str, int]:
    return conn.topic, conn.msgtype, conn.id


def plan_topics(
    connections: list[Connection], requested: tuple[str, ...], ros1: bool
) -> tuple[dict[str, str], list[str]]:
    """Role of each topic (anonymize | copy | image-not-selected) and notes for the report.

    Raises BagError for a requested topic that is missing or not an image, for a type that nests
    an image inside another message, and for a definition that cannot be read.
    """
    types = {c.topic: c.msgtype for c in connections}
    images = sorted(t for t, m in types.items() if is_image(m))
    for topic in requested:
        if topic not in types:
            raise BagError(f"--topics {topic}: no such topic in the bag (image topics: {', '.join(images) or 'none'})")
        if not is_image(types[topic]):
            raise BagError(
                f"--topics {topic}: it carries {types[topic]}, not an image "
                f"(image topics: {', '.join(images) or 'none'})"
            )
    bundled = default_typestore(ros1)
    unchecked = set()
    for conn in connections:
        check = check_type(conn, bundled)
        if check.embedded_images:
            raise BagError(
                f"topic {conn.topic} ({conn.msgtype}) nests {', '.join(check.embedded_images)} inside another "
                "message, which the sanitizer cannot anonymize: remove the topic first "
                "(e.g. `rosbags-convert --exclude-topic`) or republish its images as their own topic"
            )
        if check.source == "none":
            unchecked.add(conn.msgtype)
    roles = {}
    for topic, msgtype in types.items():
        if not is_image(msgtype):
            roles[topic] = COPY
        else:
            roles[topic] = ANONYMIZE if not requested or topic in requested else IMAGE_NOT_SELECTED
    notes = []
    if unchecked:
        notes.append(
            "no definition in the bag or in rosbags' bundled types, so copied without checking for nested "
            f"images: {', '.join(sorted(unchecked))}"
        )
    left_out = [t for t, r in roles.items() if r == IMAGE_NOT_SELECTED]
    if left_out:
        notes.append(f"image topics NOT anonymized (left out of --topics), copied unchanged: {', '.join(left_out)}")
    return roles, notes


def sanitize(
    src: Path,
    dst: Path,
    anonymizer: Anonymizer,
    options: SanitizeOptions | None = None,
) -> SanitizeReport:
    """Write the sanitized copy of bag `src` to `dst` and return what was done."""
    options = options or SanitizeOptions()
    check_paths(src, dst, options.force)
    started = time.perf_counter()
    with BagSource(src) as source:
        ros1 = source.format.kind == "rosbag1"
        out_format = plan_output(source.format, dst, options.storage, options.compression)
        roles, notes = plan_topics(source.connections, options.topics, ros1)
        bundled = default_typestore(ros1)
        handlers = {}
        for c in source.connections:
            if roles[c.topic] == ANONYMIZE:
                codec = ImageCodec(c, image_typestore(c, bundled), ros1)
                handlers[connection_key(c)] = ImageTopic(codec, anonymizer, options.jpeg_quality)
        report = SanitizeReport(
            input=str(src),
            output=str(dst),
            input_format=source.format.describe(),
            output_format=out_format.describe(),
            method=anonymizer.cfg.method,
            seed=anonymizer.cfg.seed,
            tool=f"inspire_ros {__version__}",
            notes=notes,
        )
        for c in source.connections:
            report.topics.setdefault(c.topic, TopicStats(c.topic, c.msgtype, roles[c.topic]))
        frames_total = sum(c.msgcount for c in source.connections if roles[c.topic] == ANONYMIZE)
        sink = BagSink(out_format, dst, source.custom_data)
        try:
            _copy(source, sink, handlers, report, frames_total, options.progress, dst.name)
            sink.commit()
        except BaseException:
            sink.discard()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _copy(
    source: BagSource,
    sink: BagSink,
    handlers: dict,
    report: SanitizeReport,
    frames_total: int,
    progress: bool,
    name: str,
) -> None:
    outputs = {connection_key(c): sink.add(c) for c in source.connections}
    index: Counter = Counter()
    bar = tqdm(total=frames_total or None, unit="frame", desc=name, disable=not progress, dynamic_ncols=True)
    try:
        for conn, timestamp, data in source.messages():
            key = connection_key(conn)
            out_conn = outputs.get(key) or outputs.setdefault(key, sink.add(conn))
            stats = report.topics.get(conn.topic) or report.topics.setdefault(
                conn.topic, TopicStats(conn.topic, conn.msgtype, COPY)
            )
            stats.messages_in += 1
            i = index[conn.topic]
            index[conn.topic] += 1
            handler = handlers.get(key)
            if handler is None:
                sink.write(out_conn, timestamp, data)
                stats.messages_out += 1
                continue
            outcome = handler.process(data)
            stats.encodings[outcome.encoding] += 1
            if outcome.status == UNCHANGED:
                stats.frames_unchanged += 1
            elif outcome.status == ANONYMIZED:
                stats.frames_changed += 1
                stats.instances.update(inst.category for inst in outcome.instances)
            elif outcome.status == DROPPED:
                stats.frames_dropped += 1
            else:
                stats.frames_blanked += 1
            if outcome.error:
                stats.failures[outcome.error[:200]] += 1
            if outcome.status != UNCHANGED:
                instances = [inst.to_dict() for inst in outcome.instances]
                report.frames.append(FrameRecord(conn.topic, i, timestamp, outcome.status, instances, outcome.error))
            if outcome.data is not None:
                sink.write(out_conn, timestamp, outcome.data)
                stats.messages_out += 1
            bar.update()
    finally:
        bar.close()
