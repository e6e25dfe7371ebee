"""`inspire bag sanitize`: every image message anonymized, every other message copied as bytes.

Everything that can be refused is refused before the output is created: unreadable input,
an existing output without --force, --topics naming something that is not an image topic, a
topic recorded with an image type and another type, message types that nest an image the
anonymizer would never see, and types that carry encoded pictures or video (a way out:
--exclude-topics leaves such a topic out of the output).

The output carries a marker (see `marker`): the input's digest and the report's, which
`inspire bag verify` checks.

Finished frames are journaled as the run goes (see `journal`), so a killed or interrupted run
can be continued with --resume. With a seed, each frame's random stream is derived from
(seed, topic, index) rather than drawn from one stream for the whole bag: frame i comes out the
same whether or not the run was interrupted before it.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.interfaces import Connection
from tqdm import tqdm

from .. import __version__
from .. import config as config_mod
from ..config import to_dict
from ..pipeline import Anonymizer
from ..sequence import Detected, Stream, stream_salt
from ..types import FrameStatus
from . import marker as marker_mod
from .definitions import canonical, check_type, default_typestore, image_typestore, is_image
from .depth import DROP, INVALIDATE, DepthTopic, Pairing, depth_topics, index_colour
from .errors import BagError
from .images import FrameOutcome, ImageCodec, ImageTopic
from .journal import Fingerprint, Journal, JournalEntry, WorkDir, config_sha256, input_files
from .report import (
    ANONYMIZE,
    COPY,
    DEPTH,
    EXCLUDED,
    IMAGE_NOT_SELECTED,
    OLD_MARKER,
    FrameRecord,
    SanitizeReport,
    TopicStats,
)
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
    resume: bool = False  # continue an interrupted run on the same output from its journal
    exclude_topics: tuple[str, ...] = ()  # topics left out of the output altogether


def frame_rng(seed: int, topic: str, index: int) -> np.random.Generator:
    """The random stream of one image message of a seeded run."""
    return np.random.default_rng([seed, zlib.crc32(topic.encode()), index])


def connection_key(conn: Connection) -> tuple[str, str, int]:
    return conn.topic, conn.msgtype, conn.id


def plan_topics(
    connections: list[Connection], requested: tuple[str, ...], ros1: bool, excluded: tuple[str, ...] = ()
) -> tuple[dict[str, str], list[str]]:
    """Role of each topic (anonymize | copy | image-not-selected | excluded) and notes for the report.

    Raises BagError for a requested or excluded topic that is missing (or requested and not an
    image, or both), and, on every topic not excluded: for a topic recorded with an image type
    and another type, a type that nests an image inside another message or carries encoded
    pictures or video, and a definition that cannot be read.
    """
    types: dict[str, set[str]] = {}
    for c in connections:
        types.setdefault(c.topic, set()).add(canonical(c.msgtype))
    images = sorted(t for t, m in types.items() if any(is_image(x) for x in m))
    image_list = ", ".join(images) or "none"
    for topic in requested:
        if topic not in types:
            raise BagError(f"--topics {topic}: no such topic in the bag (image topics: {image_list})")
        if topic not in images:
            raise BagError(
                f"--topics {topic}: it carries {', '.join(sorted(types[topic]))}, not an image "
                f"(image topics: {image_list})"
            )
    for topic in excluded:
        if topic not in types:
            raise BagError(f"--exclude-topics {topic}: no such topic in the bag")
        if topic in requested:
            raise BagError(f"{topic} is named by both --topics and --exclude-topics")
    way_out = "leave it out with `--exclude-topics {}` (or remove it first with `rosbags-convert --exclude-topic {}`)"
    for topic, msgtypes in sorted(types.items()):
        if topic in excluded or len(msgtypes) < 2 or topic not in images:
            continue
        raise BagError(
            f"topic {topic} was recorded with several message types ({', '.join(sorted(msgtypes))}): its images "
            f"cannot be anonymized as one stream, and its other messages could carry the same pictures; "
            + way_out.format(topic, topic)
        )
    bundled = default_typestore(ros1)
    unchecked = set()
    for conn in connections:
        if conn.topic in excluded or marker_mod.is_marker_connection(conn, ros1):
            continue  # not written: nothing of it can leak
        check = check_type(conn, bundled)
        if check.embedded_images:
            raise BagError(
                f"topic {conn.topic} ({conn.msgtype}) nests {', '.join(check.embedded_images)} inside another "
                "message, which the sanitizer cannot anonymize: "
                + way_out.format(conn.topic, conn.topic)
                + ", or republish its images as their own topic"
            )
        if check.encoded_media:
            raise BagError(
                f"topic {conn.topic} ({conn.msgtype}) carries encoded pictures or video "
                f"({'; '.join(check.encoded_media)}), which the sanitizer cannot decode, so cannot anonymize: "
                + way_out.format(conn.topic, conn.topic)
            )
        if check.source == "none":
            unchecked.add(conn.msgtype)
    roles = {}
    for topic in types:
        if topic in excluded:
            roles[topic] = EXCLUDED
        elif ros1 and topic == marker_mod.MARKER_TOPIC:
            roles[topic] = OLD_MARKER
        elif topic not in images:
            roles[topic] = COPY
        else:
            roles[topic] = ANONYMIZE if not requested or topic in requested else IMAGE_NOT_SELECTED
    notes = []
    if unchecked:
        notes.append(
            "no definition in the bag or in rosbags' bundled types, so copied without checking for nested "
            f"images or encoded media: {', '.join(sorted(unchecked))}"
        )
    left_out = [t for t, r in roles.items() if r == IMAGE_NOT_SELECTED]
    if left_out:
        notes.append(f"image topics NOT anonymized (left out of --topics), copied unchanged: {', '.join(left_out)}")
    if excluded:
        notes.append(f"topics EXCLUDED (--exclude-topics), not in the output: {', '.join(excluded)}")
    if OLD_MARKER in roles.values():
        notes.append(f"the input's own sanitize marker ({marker_mod.MARKER_TOPIC}) is replaced by this run's")
    return roles, notes


def sanitize(
    src: Path,
    dst: Path,
    anonymizer: Anonymizer,
    options: SanitizeOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> SanitizeReport:
    """Write the sanitized copy of bag `src` to `dst` and return what was done.

    `notify` hears about things worth knowing before the run ends (leftovers of a crashed run
    removed, a journal kept for --resume); they also go into the report's notes.
    """
    options = options or SanitizeOptions()
    check_paths(src, dst, options.force)
    started = time.perf_counter()
    with BagSource(src) as source:
        ros1 = source.format.kind == "rosbag1"
        out_format = plan_output(source.format, dst, options.storage, options.compression)
        roles, notes = plan_topics(source.connections, options.topics, ros1, options.exclude_topics)
        bundled = default_typestore(ros1)
        codecs = {
            connection_key(c): ImageCodec(c, image_typestore(c, bundled, source.typestore), ros1)
            for c in source.connections
            if roles[c.topic] in (ANONYMIZE, IMAGE_NOT_SELECTED)
        }
        # Depth topics follow the `depth` policy whatever --topics says (never the colour anonymizer).
        policy = anonymizer.cfg.depth
        candidates = {t for t, r in roles.items() if r in (ANONYMIZE, IMAGE_NOT_SELECTED)}
        depth = depth_topics(source, roles, candidates, codecs)
        for topic in depth:
            roles[topic] = DEPTH
        if depth:
            notes.append(_depth_note(sorted(depth), policy))
        notes[:] = [n for n in notes if not n.startswith("image topics NOT anonymized")] + _not_selected(roles)
        handlers, depth_handlers = {}, {}
        pairing = Pairing(anonymizer.cfg.depth_pair_ms, anonymizer.cfg.depth_grow) if policy == INVALIDATE else None
        for c in source.connections:
            if roles[c.topic] == ANONYMIZE:
                handlers[connection_key(c)] = ImageTopic(codecs[connection_key(c)], anonymizer, options.jpeg_quality)
            elif roles[c.topic] == DEPTH and policy != DROP:
                depth_handlers[connection_key(c)] = DepthTopic(codecs[connection_key(c)], c.topic, policy, pairing)
        report = SanitizeReport(
            input=str(src),
            output=str(dst),
            input_format=source.format.describe(),
            output_format=out_format.describe(),
            method=anonymizer.cfg.method,
            seed=anonymizer.cfg.seed,
            tool=f"inspire_ros {__version__}",
            preset=anonymizer.cfg.preset,
            protection_reduced=config_mod.reductions(anonymizer.cfg),
            notes=notes,
        )
        for c in source.connections:
            stats = report.topics.setdefault(c.topic, TopicStats(c.topic, c.msgtype, roles[c.topic]))
            if roles[c.topic] == DEPTH:
                stats.depth_policy = policy
        frames_total = sum(c.msgcount for c in source.connections if roles[c.topic] == ANONYMIZE)
        fingerprint = Fingerprint(
            input=str(src.resolve()),
            files=input_files(src),
            # The seed is compared on its own (a clearer message than "config differs").
            config=config_sha256({k: v for k, v in to_dict(anonymizer.cfg).items() if k != "seed"}),
            seed=anonymizer.cfg.seed,
            topics=sorted(t for t, r in roles.items() if r in (ANONYMIZE, DEPTH)),
            jpeg_quality=options.jpeg_quality,
            tool=__version__,
        )

        def say(note: str) -> None:
            report.notes.append(note)
            if notify:
                notify(note)

        work = WorkDir(dst, options.resume)
        journal = sink = None
        try:
            if work.leftover:
                say(work.leftover)
            journal = Journal(work.journal, fingerprint, options.resume)
            if options.resume:
                report.resumed_from = str(work.journal)
            sequences = _sequences(source, handlers, anonymizer, work, options, frames_total, dst.name)
            for c in source.connections:
                if connection_key(c) in handlers:
                    handlers[connection_key(c)].stream.sequence = sequences[c.topic]
            if pairing is not None and depth_handlers:
                index_colour(source, handlers, pairing)
                for topic, seq in sequences.items():
                    if seq.plan is not None:
                        pairing.planned(topic, seq.plan, seq.detected.errors)
            skipped = {t for t, r in roles.items() if r in (EXCLUDED, OLD_MARKER) or r == DEPTH and policy == DROP}
            sink = BagSink(out_format, dst, source.custom_data, folder=work.build)
            digest, first = _copy(
                source,
                sink,
                handlers | depth_handlers,
                skipped,
                journal,
                report,
                frames_total,
                options.progress,
                pairing,
            )
            for topic, seq in sequences.items():
                report.topics[topic].coverage = seq.receipt.to_dict()
            report.seconds = time.perf_counter() - started
            mark = marker_mod.make(
                report.tool,
                digest,
                report.to_dict(),
                roles,
                anonymizer.cfg.max_frame_pixels,
                report.frames_in,
                report.frames_failed,
                {t: policy for t, r in roles.items() if r == DEPTH},
            )
            sink.mark(mark, first)
            sink.commit()
        except BaseException as e:
            if sink is not None:
                sink.discard()
            if journal is None:
                # Refused to resume (another run's journal): keep it for a resume with the right settings.
                work.finish(keep_journal=options.resume)
                raise
            kept = journal.count()
            journal.close()
            # A bad input would fail again at the same place: nothing worth resuming. An interruption
            # (Ctrl-C, SIGTERM), a full disk or a crash elsewhere is: keep the finished frames.
            keep = kept > 0 and not isinstance(e, BagError)
            work.finish(keep_journal=keep)
            if keep:
                say(f"stopped: {kept} finished frame(s) kept in {work.journal}; continue with --resume")
            raise
        journal.close()
        work.finish(keep_journal=False)
    return report


def _sequences(
    source: BagSource,
    handlers: dict,
    anonymizer: Anonymizer,
    work: WorkDir,
    options: SanitizeOptions,
    frames_total: int,
    name: str,
) -> dict[str, Stream]:
    """Each anonymized topic as a sequence: with look-ahead, pass 1 detects every frame first
    (kept in the work folder, so --resume reuses it and plans exactly as the interrupted run)."""
    cfg = anonymizer.cfg
    topics = sorted({key[0] for key in handlers})
    salts = {t: stream_salt(cfg.seed, t) for t in topics}
    if not cfg.lookahead.enabled:
        if options.resume and cfg.tracking.enabled:
            raise BagError(
                "--resume with tracking but without look-ahead cannot rebuild the tracker of the frames already "
                "done: run again without --resume, or enable lookahead (the thorough preset)"
            )
        return {t: Stream(anonymizer, None, salts[t]) for t in topics}
    detected: dict[str, Detected] | None = None
    if options.resume and work.detections.is_file():
        try:
            data = json.loads(work.detections.read_text())
            detected = {t: Detected.from_json(data[t]) for t in topics}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            detected = None  # unreadable (killed while writing it): detect again
    if detected is None:
        detected = {t: Detected() for t in topics}
        bar = tqdm(total=frames_total or None, unit="frame", desc=f"{name} (detect)", disable=not options.progress)
        try:
            # Only the anonymized topics' messages are read in this pass.
            for conn, _, data in source.messages([c for c in source.connections if connection_key(c) in handlers]):
                frame, error = handlers[connection_key(conn)].frame(data)
                detected[conn.topic].add(frame, anonymizer, error)
                bar.update()
        finally:
            bar.close()
        tmp = work.detections.with_suffix(".tmp")
        tmp.write_text(json.dumps({t: d.to_json() for t, d in detected.items()}))
        tmp.replace(work.detections)
    return {t: Stream(anonymizer, detected[t], salts[t]) for t in topics}


def _depth_note(topics: list[str], policy: str) -> str:
    says = {
        "copy": "copied as recorded: their depth is NOT anonymized",
        "drop": "left out of the output",
        "invalidate": "pixels of the instances replaced in the paired colour frame set invalid (0/NaN), frames "
        "without a pair invalidated whole",
    }[policy]
    return f"depth image topics (config depth: {policy}), never anonymized as pictures, {says}: {', '.join(topics)}"


def _not_selected(roles: dict[str, str]) -> list[str]:
    left_out = [t for t, r in roles.items() if r == IMAGE_NOT_SELECTED]
    if not left_out:
        return []
    return [f"image topics NOT anonymized (left out of --topics), copied unchanged: {', '.join(left_out)}"]


def _copy(
    source: BagSource,
    sink: BagSink,
    handlers: dict,
    skipped: set[str],
    journal: Journal,
    report: SanitizeReport,
    frames_total: int,
    progress: bool,
    pairing: Pairing | None = None,
) -> tuple[str, int]:
    """Pass 2: every message written, anonymized or left out. Returns the digest of the input's
    messages (for the marker) and the first log time (where a ROS 1 marker goes)."""
    outputs = {connection_key(c): sink.add(c) for c in source.connections if c.topic not in skipped}
    index: Counter = Counter()
    seed = report.seed
    resumed = journal.resumed_frames > 0
    digest = marker_mod.InputDigest()
    first: int | None = None
    name = Path(report.output).name
    bar = tqdm(total=frames_total or None, unit="frame", desc=name, disable=not progress, dynamic_ncols=True)
    try:
        for conn, timestamp, data in source.messages():
            digest.add(conn, timestamp, data)
            first = timestamp if first is None else min(first, timestamp)
            key = connection_key(conn)
            stats = report.topics.get(conn.topic) or report.topics.setdefault(
                conn.topic, TopicStats(conn.topic, conn.msgtype, COPY)
            )
            stats.messages_in += 1
            if conn.topic in skipped:
                continue
            out_conn = outputs.get(key) or outputs.setdefault(key, sink.add(conn))
            i = index[conn.topic]
            index[conn.topic] += 1
            handler = handlers.get(key)
            if handler is None:
                sink.write(out_conn, timestamp, data)
                stats.messages_out += 1
                continue
            entry = journal.get(conn.topic, i) if resumed else None
            if entry is not None:
                handler.restore(entry.size)
                stats.frames_from_journal += 1
            else:
                outcome = handler.process(data, frame_rng(seed, conn.topic, i) if seed is not None else None, index=i)
                entry = _journal_entry(outcome, handler.last_size)
                journal.put(conn.topic, i, entry)
            stats.encodings[entry.encoding] += 1
            if pairing is not None and stats.role == ANONYMIZE:
                pairing.done(conn.topic, i, entry.status, entry.instances)
            if entry.status == FrameStatus.UNCHANGED:
                stats.frames_unchanged += 1
            elif entry.status == FrameStatus.ANONYMIZED:
                stats.frames_changed += 1
                stats.frames_scrubbed += bool(entry.scrubbed) and not entry.instances
                stats.instances.update(inst["category"] for inst in entry.instances)
            elif entry.status == FrameStatus.DROPPED:
                stats.frames_dropped += 1
            elif entry.status == FrameStatus.INVALIDATED:
                stats.frames_invalidated += 1
            else:
                stats.frames_blanked += 1
            if entry.error:
                stats.failures[entry.error[:200]] += 1
            if entry.status != FrameStatus.UNCHANGED:
                report.frames.append(
                    FrameRecord(conn.topic, i, timestamp, entry.status, entry.instances, entry.error, entry.scrubbed)
                )
            out = data if entry.status == FrameStatus.UNCHANGED else entry.data
            if out is not None:
                sink.write(out_conn, timestamp, out)
                stats.messages_out += 1
            if stats.role == ANONYMIZE:
                bar.update()
    finally:
        bar.close()
    return digest.hexdigest(), first or 0


def _journal_entry(outcome: FrameOutcome, size: tuple[int, int] | None) -> JournalEntry:
    # An unchanged frame is the input's bytes: not stored twice.
    data = None if outcome.status == FrameStatus.UNCHANGED or outcome.data is None else bytes(outcome.data)
    instances = [inst.to_dict() for inst in outcome.instances]
    return JournalEntry(outcome.status, outcome.encoding, data, instances, outcome.error, size, outcome.scrubbed)
