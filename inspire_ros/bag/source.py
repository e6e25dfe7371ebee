"""Opening a bag of any kind and reading its messages as raw bytes.

rosbags' AnyReader does the reading: rosbag2 folders (sqlite3 or mcap, split over several files,
metadata versions 4-9, zstd file or message compression), bare .mcap/.db3 files and ROS 1 .bag
files all come out the same way, as connections plus (connection, log timestamp, serialized
bytes), and it registers the definitions stored in the bag into a typestore. Nothing is
deserialized here: untouched messages go to the output as the bytes read (rosbags yields and
writes them as stored; see docs/rosbags-verbatim-connections.md for the one part of a verbatim
copy it cannot do, on the writing side in `sink`).

What stays here is what rosbags cannot do (see `_Reader`): read every message of a rosbag2
folder whose storage files spell a topic's QoS differently from metadata.yaml
(docs/rosbags-qos-pairing.md), and open a bag one of whose stored definitions it cannot parse
(docs/rosbags-anyreader-definitions.md); plus the format details it does not expose (ROS 1 and
mcap chunk compression, a bare file's embedded custom_data).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from rosbags.highlevel import AnyReader
from rosbags.highlevel.anyreader import AnyReaderError
from rosbags.interfaces import Connection
from rosbags.rosbag1 import Reader as Reader1
from rosbags.rosbag2 import Reader as Reader2
from rosbags.typesys.store import Typestore

from .definitions import default_typestore
from .errors import BagError

ROSBAG2_FILE_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3"}
ROS1_MAGIC = b"#ROSBAG V2.0\n"


def _hint(kind: str, e: Exception | None = None) -> str:
    if e is not None and "not supported" in str(e):
        return "the sanitizer reads CDR-serialized rosbag2 bags (sqlite3 or mcap, zstd) and ROS 1 bags v2.0"
    tool = "rosbag reindex" if kind == "rosbag1" else "ros2 bag reindex"
    return f"the bag is truncated or corrupt (an interrupted recording can often be repaired with `{tool}`)"


@dataclass(frozen=True)
class BagFormat:
    """How a bag is stored: what the output copies unless told otherwise."""

    kind: str  # rosbag2 | rosbag1
    layout: str  # directory (rosbag2 folder with metadata.yaml) | file (.mcap, .db3, .bag)
    storage: str | None  # rosbag2: sqlite3 | mcap
    compression: str  # rosbag2: none | file | message | chunk (mcap-internal); rosbag1: none | bz2 | lz4
    version: int | None = None  # rosbag2 metadata.yaml version

    def describe(self) -> str:
        what = f"rosbag2 {self.storage} {self.layout}" if self.kind == "rosbag2" else "ROS 1 bag"
        extra = [f"metadata v{self.version}"] if self.version else []
        if self.compression != "none":
            extra.append(f"{self.compression} compression")
        return what + (f" ({', '.join(extra)})" if extra else "")


def detect(path: Path) -> tuple[str, str]:
    """(kind, layout) from the path alone, or a BagError saying what a bag looks like."""
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return "rosbag2", "directory"
        raise BagError(
            f"{path} is a folder without metadata.yaml, so not a rosbag2 bag; if it holds the .db3/.mcap files "
            "of an interrupted recording, rebuild the metadata with `ros2 bag reindex`, or pass a single file"
        )
    if not path.exists():
        raise BagError(f"input {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".bag":
        with path.open("rb") as f:
            head = f.read(len(ROS1_MAGIC))
        if head != ROS1_MAGIC:
            raise BagError(f"{path} is not a ROS 1 bag v2.0: it starts with {head!r}, not {ROS1_MAGIC!r}")
        return "rosbag1", "file"
    if suffix in ROSBAG2_FILE_SUFFIXES:
        return "rosbag2", "file"
    raise BagError(f"unsupported bag {path}: expected a rosbag2 folder, a .mcap or .db3 file, or a ROS 1 .bag file")


class _Reader(AnyReader):
    """rosbags' AnyReader on one bag, with two departures.

    - The reader follows `detect`: AnyReader tells ROS 1 from rosbag2 by the exact suffix `.bag`,
      so it would take a rosbag2 folder named `run.bag` for ROS 1 and a ROS 1 `RUN.BAG` for rosbag2.
    - A stored definition that rosbags cannot parse (rosbag2 stores a service event topic's
      definition as .srv text) or whose type hash it computes differently fails AnyReader.open()
      for the whole bag, without naming the topic. Here the bag opens without AnyReader's
      typestore (`typestore_error` says why); `definitions.check_type` then checks every
      connection's definition itself and names the topic it cannot read.
    """

    typestore_error: Exception | None = None

    def __init__(self, path: Path, ros1: bool, bundled: Typestore):
        try:
            super().__init__([path], default_typestore=bundled)
        except AnyReaderError:
            if self.is2 != ros1:  # not a wrong guess from the suffix: a real failure
                raise
        if self.is2 == ros1:
            self.is2, self.readers = not ros1, [Reader1(path)] if ros1 else [Reader2(path)]

    def _open(self) -> None:
        try:
            super()._open()
        except Exception as e:
            # AnyReader opens its readers first, then builds the typestore: only a failure of
            # the second step leaves every reader open.
            if not all(getattr(r, "is_open", None) or getattr(r, "bio", None) for r in self.readers):
                raise
            self.connections = [c for r in self.readers for c in r.connections]
            self.typestore_error = e


class BagSource:
    """An open bag. Use as a context manager; `messages()` yields in the reader's order."""

    def __init__(self, path: Path):
        self.path = path
        kind, layout = detect(path)
        try:
            self._any = _Reader(path, kind == "rosbag1", default_typestore(kind == "rosbag1"))
            self._any.open()
        except Exception as e:  # noqa: BLE001 - any reader failure on a bad file is a bad bag
            raise BagError(f"cannot open {path} as a {kind} bag: {_why(e)}; {_hint(kind, e)}") from e
        self.reader = self._any.readers[0]  # rosbags' Reader1/Reader2 (format details)
        try:
            self.format = _format_of(self.reader, path, kind, layout)
        except Exception:
            self._any.close()
            raise
        self.connections: list[Connection] = list(self._any.connections)
        # rosbag2 folders: per entry of `connections`, the connections to ask rosbags for (see _pair).
        self._asks: list[list[Connection]] | None = self._pair() if layout == "directory" else None

    @property
    def typestore(self) -> Typestore | None:
        """AnyReader's typestore (every definition the bag stores, type hashes checked, rosbags'
        bundled types for a bag that stores none), or None where AnyReader could not build one."""
        return None if self._any.typestore_error is not None else self._any.typestore

    @property
    def custom_data(self) -> dict[str, str]:
        """rosbag2 metadata custom_data (kept in the output): from metadata.yaml, or for a bare
        .mcap/.db3 file from the metadata its storage embeds."""
        if self.format.kind != "rosbag2":
            return {}
        if self.format.layout == "file":
            custom = _embedded_metadata(self.path, self.format.storage).get("custom_data")
        else:
            storage = getattr(self.reader, "storage", None)
            custom = getattr(getattr(storage, "metadata", None), "custom", None) if storage else None
        return {str(k): str(v) for k, v in (custom or {}).items()} if isinstance(custom, dict) else {}

    def _pair(self) -> list[list[Connection]]:
        """Workaround for rosbags' folder reader, which pairs each storage file's connections with
        metadata.yaml's on topic, type *and* QoS and silently skips every message whose file-side
        QoS differs (rosbag2 test bags with v4/v5 metadata read back empty that way; see
        docs/rosbags-qos-pairing.md). Here topic and type decide, QoS only breaks ties, and rosbags
        is asked for each metadata connection under every QoS its files spell it with; a topic
        missing from metadata.yaml keeps the file's own connection. The storage files'
        connections are not public API (the reason for the `<0.12` pin)."""
        folder = self.reader.storage  # rosbags' DirectoryReader
        asks: list[list[Connection]] = [[] for _ in self.connections]
        for storage in folder.storages:
            for file_conn in storage.connections:
                same = [
                    i
                    for i, c in enumerate(self.connections)
                    if c.topic == file_conn.topic and c.msgtype == file_conn.msgtype
                ]
                exact = [i for i in same if self.connections[i].ext == file_conn.ext]
                if exact or same:
                    i = (exact or same)[0]
                else:
                    self.connections.append(file_conn)
                    asks.append([])
                    i = len(self.connections) - 1
                ask = self.connections[i]._replace(ext=file_conn.ext, digest=file_conn.digest, owner=folder)
                if ask not in asks[i]:
                    asks[i].append(ask)
        return asks

    def _raw_messages(self, connections: list[Connection] | None) -> Iterator[tuple[Connection, int, bytes]]:
        if self._asks is None:
            yield from self._any.messages(connections or ())
            return
        wanted = [i for i, c in enumerate(self.connections) if connections is None or c in connections]
        asked = {id(ask): self.connections[i] for i in wanted for ask in self._asks[i]}
        if not asked:
            return  # (no connection would mean every message to rosbags)
        # rosbags yields the very connection it was asked for: mapped back to the metadata one.
        asks = [ask for i in wanted for ask in self._asks[i]]
        for conn, timestamp, data in self._any.messages(asks):
            yield asked[id(conn)], timestamp, data

    def messages(self, connections: list[Connection] | None = None) -> Iterator[tuple[Connection, int, bytes]]:
        """All messages (or those of `connections`), raw. A failure inside the reader (truncated
        chunk, garbage bytes) becomes a BagError naming the bag; errors of the caller's own code
        pass through unchanged."""
        if connections is not None and not connections:
            return
        stream = self._raw_messages(connections)
        while True:
            try:
                item = next(stream)
            except StopIteration:
                return
            except Exception as e:  # noqa: BLE001 - see docstring
                raise BagError(f"cannot read {self.path}: {_why(e)}; {_hint(self.format.kind)}") from e
            yield item

    def close(self) -> None:
        self._any.close()

    def __enter__(self) -> BagSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _why(e: Exception) -> str:
    if isinstance(e, AnyReaderError) and e.__context__ is not None:
        e = e.__context__  # AnyReader re-raises rosbags' reader errors as its own, `from None`
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else '(no message)'}"


def _format_of(reader, path: Path, kind: str, layout: str) -> BagFormat:
    if kind == "rosbag1":
        return BagFormat("rosbag1", "file", None, _ros1_chunk_compression(path))
    if layout == "file":
        storage = ROSBAG2_FILE_SUFFIXES[path.suffix.lower()]
        chunked = _mcap_chunked([reader.storage])
        return BagFormat("rosbag2", "file", storage, "chunk" if chunked else "none")
    meta = _metadata(path)
    storage = str(meta.get("storage_identifier", ""))
    mode = reader.compression_mode or "none"
    if mode == "none" and storage == "mcap" and _mcap_chunked(getattr(reader.storage, "storages", [])):
        mode = "chunk"
    return BagFormat("rosbag2", "directory", storage, mode, int(meta.get("version", 0)) or None)


def _metadata(path: Path) -> dict:
    try:
        info = yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise BagError(f"cannot read {path / 'metadata.yaml'}: {_why(e)}") from e
    return info if isinstance(info, dict) else {}


def _embedded_metadata(path: Path, storage: str | None) -> dict:
    """The rosbag2 metadata a storage file embeds (rosbag2 and rosbags write it on close: the
    sqlite3 `metadata` table, the mcap metadata record "rosbag2"); {} when there is none."""
    try:
        text = _sqlite3_metadata(path) if storage == "sqlite3" else _mcap_metadata(path)
        info = yaml.safe_load(text) if text else None
    except (OSError, ValueError, struct.error, yaml.YAMLError, sqlite3.Error):
        return {}
    if isinstance(info, dict) and isinstance(info.get("rosbag2_bagfile_information"), dict):
        info = info["rosbag2_bagfile_information"]
    return info if isinstance(info, dict) else {}


def _sqlite3_metadata(path: Path) -> str | None:
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        row = db.execute("SELECT metadata FROM metadata ORDER BY rowid DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # no metadata table (bags before ROS 2 Iron)
        return None
    finally:
        db.close()
    return row[0] if row else None


def _mcap_metadata(path: Path) -> str | None:
    """serialized_metadata of the mcap metadata record named "rosbag2", found through the
    summary's metadata index."""
    with path.open("rb") as f:
        f.seek(-37, 2)  # footer record (opcode, length, summary start, summary offset start, crc) + magic
        footer = f.read(37)
        if footer[0] != 0x02:
            return None
        (summary_start,) = struct.unpack_from("<Q", footer, 9)
        if not summary_start:
            return None
        f.seek(summary_start)
        summary = f.read(max(0, path.stat().st_size - 37 - summary_start))
        pos = 0
        while pos + 9 <= len(summary):
            op, (n,) = summary[pos], struct.unpack_from("<Q", summary, pos + 1)
            body = summary[pos + 9 : pos + 9 + n]
            pos += 9 + n
            if op != 0x0D:  # metadata index: offset, length, name
                continue
            offset, length = struct.unpack_from("<QQ", body)
            if _mcap_string(body, 16)[0] != "rosbag2":
                continue
            f.seek(offset)
            record = f.read(length)
            if not record or record[0] != 0x0C:
                return None
            _, i = _mcap_string(record, 9)  # the record's name
            (size,) = struct.unpack_from("<I", record, i)
            i, end = i + 4, i + 4 + size
            while i < end:
                key, i = _mcap_string(record, i)
                value, i = _mcap_string(record, i)
                if key == "serialized_metadata":
                    return value
    return None


def _mcap_string(buf: bytes, i: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", buf, i)
    return buf[i + 4 : i + 4 + n].decode("utf-8", "replace"), i + 4 + n


def _mcap_chunked(storages) -> bool:
    """True when an mcap file compresses its chunks (zstd or lz4): invisible in metadata.yaml."""
    return any(getattr(chunk, "compression", "") for s in storages for chunk in getattr(s, "chunks", []))


def _ros1_chunk_compression(path: Path) -> str:
    """The compression of the first chunk of a ROS 1 bag (none, bz2 or lz4).

    rosbags does not expose it; the format is simple: after the 13-byte version line comes the
    bag header record (u32 header length, header, u32 data length, padding), then the first
    chunk record, whose header fields are u32-length-prefixed `name=value` pairs.
    """
    try:
        with path.open("rb") as f:
            f.seek(13)
            for _ in range(2):  # skip the bag header's header and data
                (n,) = struct.unpack("<I", f.read(4))
                f.seek(n, 1)
            (n,) = struct.unpack("<I", f.read(4))
            header, fields, i = f.read(n), {}, 0
            while i + 4 <= len(header):
                (m,) = struct.unpack_from("<I", header, i)
                name, _, value = header[i + 4 : i + 4 + m].partition(b"=")
                fields[name] = value
                i += 4 + m
    except (OSError, struct.error):
        return "none"
    if fields.get(b"op") != b"\x05":  # not a chunk record: an empty bag
        return "none"
    return fields.get(b"compression", b"none").decode("ascii", "replace")
