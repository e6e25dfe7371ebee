"""Writing the output bag: its format, connections copied verbatim, and an atomic commit.

The bag is built inside a hidden folder beside the output (`sanitize` names it after the output,
see `journal`) and moved into place only after the writer closed cleanly: an interrupted or
failed run leaves no file that looks finished, and an existing output survives until then (or
for good without --force).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from io import StringIO
from pathlib import Path

from rosbags.interfaces import (
    Connection,
    ConnectionExtRosbag1,
    ConnectionExtRosbag2,
    MessageDefinition,
    MessageDefinitionFormat,
)
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.rosbag2.metadata import dump_qos_v8, dump_qos_v9
from rosbags.typesys import Stores, get_typestore
from ruamel.yaml import YAML

from .errors import BagError
from .marker import MARKER_KEY, MARKER_TOPIC, MARKER_TYPE
from .source import ROSBAG2_FILE_SUFFIXES, BagFormat

STORAGES = ("sqlite3", "mcap")
COMPRESSIONS = ("none", "zstd")
_MODES = {"none": CompressionMode.NONE, "file": CompressionMode.FILE, "message": CompressionMode.MESSAGE,
          "chunk": CompressionMode.STORAGE}  # fmt: skip


def plan_output(src: BagFormat, dst: Path, storage: str | None = None, compression: str | None = None) -> BagFormat:
    """The output's format: the input's, except where --storage/--compression or the output's
    suffix (.mcap/.db3: a bare storage file) say otherwise."""
    if storage is not None and storage not in STORAGES:
        raise BagError(f"unknown storage {storage!r}: use {' or '.join(STORAGES)}")
    if compression is not None and compression not in COMPRESSIONS:
        raise BagError(f"unknown compression {compression!r}: use {' or '.join(COMPRESSIONS)}")
    suffix = dst.suffix.lower()
    if src.kind == "rosbag1":
        # Converting would re-serialize every message (ROS 1 <-> CDR): not a byte-exact copy.
        if suffix != ".bag" or storage:
            raise BagError(
                f"{dst}: a ROS 1 bag is written as a ROS 1 bag; name the output *.bag and leave out --storage "
                "(convert the sanitized bag with `rosbags-convert` if you need rosbag2)"
            )
        if compression == "zstd":
            raise BagError("ROS 1 bags compress with bz2 or lz4, not zstd: leave out --compression to keep the input's")
        return BagFormat("rosbag1", "file", None, "none" if compression == "none" else src.compression)
    if suffix == ".bag":
        raise BagError(f"{dst}: a rosbag2 input is written as rosbag2 (a folder, or a .mcap/.db3 file), not .bag")
    layout = "file" if suffix in ROSBAG2_FILE_SUFFIXES else "directory"
    if layout == "file":
        if storage and storage != ROSBAG2_FILE_SUFFIXES[suffix]:
            raise BagError(f"output {dst} has the suffix of {ROSBAG2_FILE_SUFFIXES[suffix]}, not --storage {storage}")
        storage = ROSBAG2_FILE_SUFFIXES[suffix]
    storage = storage or src.storage or "sqlite3"
    mode = _compression_mode(src.compression, storage, compression)
    if layout == "file" and mode in ("file", "message"):
        raise BagError(
            f"a bare {suffix} file cannot say that it is zstd-{mode}-compressed (that lives in metadata.yaml): "
            "write a bag folder (an output name without .mcap/.db3), or pass --compression none"
        )
    # Metadata v9 changed how QoS is written; older bags keep v8, which older ROS 2 tools read.
    version = 9 if layout == "file" or (src.version or 9) >= 9 else 8
    return BagFormat("rosbag2", layout, storage, mode, version)


def _compression_mode(src_mode: str, storage: str, requested: str | None) -> str:
    if requested == "none":
        return "none"
    if requested is None and src_mode == "none":
        return "none"
    if src_mode in ("file", "message"):
        return src_mode  # zstd already: keep the recording's mode
    # mcap compresses its own chunks (readable without metadata.yaml); sqlite3 cannot, so it
    # gets per-message zstd, which streams (file mode is decompressed whole before reading).
    return "chunk" if storage == "mcap" else "message"


def check_paths(src: Path, dst: Path, force: bool) -> None:
    """Refuse outputs that would destroy the input or something that is not a bag."""
    s, d = src.resolve(), dst.resolve()
    if s == d or s in d.parents or d in s.parents:
        raise BagError(f"output {dst} would overwrite or sit inside the input {src} (or the other way round)")
    if dst.exists() or dst.is_symlink():
        if not force:
            raise FileExistsError(f"output {dst} exists; pass --force to overwrite it")
        if dst.is_dir() and not (dst / "metadata.yaml").is_file():
            raise BagError(f"refusing to replace folder {dst}: it is not a rosbag2 bag (no metadata.yaml)")


class BagSink:
    """The output bag. add(conn) once per input connection, write(), then commit() or discard()."""

    def __init__(
        self, fmt: BagFormat, final: Path, custom_data: dict[str, str] | None = None, folder: Path | None = None
    ):
        """`folder`: an empty or missing folder on the output's file system to build the bag in
        (removed on commit and discard); None: a fresh private one beside the output."""
        self.format, self.final = fmt, final
        final.parent.mkdir(parents=True, exist_ok=True)
        if folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix=f".{final.name}.inspire-tmp-", dir=final.parent))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self._folder = folder
        self._connections: dict[str, Connection] = {}
        try:
            if fmt.kind == "rosbag1":
                self._path = self._produced = self._folder / final.name
                self._writer = Writer1(self._path)
                if fmt.compression in ("bz2", "lz4"):
                    self._writer.set_compression(Writer1.CompressionFormat[fmt.compression.upper()])
            else:
                # rosbags names the storage file after the folder: build the folder under the
                # final name (or the file's stem) so nothing needs renaming inside it.
                self._path = self._folder / (final.stem if fmt.layout == "file" else final.name)
                self._produced = self._path / f"{self._path.name}{final.suffix}" if fmt.layout == "file" else self._path
                plugin = StoragePlugin.MCAP if fmt.storage == "mcap" else StoragePlugin.SQLITE3
                self._writer = _Rosbag2Writer(self._path, version=fmt.version or 9, storage_plugin=plugin)
                self._writer.set_compression(_MODES[fmt.compression], CompressionFormat.ZSTD)
                for key, value in (custom_data or {}).items():
                    if key != MARKER_KEY:  # the input's own marker: this run writes its own
                        self._writer.set_custom_data(key, value)
            self._writer.open()
        except Exception:
            self.discard()
            raise

    def add(self, conn: Connection) -> Connection:
        """The output connection for an input connection: same topic, type, definition, hash,
        serialization, QoS (rosbag2) or callerid/latching (ROS 1). Duplicates map to one."""
        key = repr((conn.topic, conn.msgtype, conn.msgdef, conn.digest, conn.ext))
        if key in self._connections:
            return self._connections[key]
        ext = conn.ext
        if self.format.kind == "rosbag1":
            if not isinstance(ext, ConnectionExtRosbag1):
                raise BagError("cannot write a rosbag2 connection into a ROS 1 bag")
            out = self._writer.add_connection(
                conn.topic, conn.msgtype, msgdef=conn.msgdef.data, md5sum=conn.digest,
                callerid=ext.callerid, latching=ext.latching,
            )  # fmt: skip
        else:
            if not isinstance(ext, ConnectionExtRosbag2):
                raise BagError("cannot write a ROS 1 connection into a rosbag2 bag")
            out = self._writer.add_verbatim(conn)
        self._connections[key] = out
        return out

    def write(self, conn: Connection, timestamp: int, data: bytes | memoryview) -> None:
        self._writer.write(conn, timestamp, data)

    def mark(self, marker: str, timestamp: int) -> None:
        """Write the sanitize marker (see `marker`): custom_data of a rosbag2 bag, a latched
        std_msgs/String message at `timestamp` on its own topic of a ROS 1 bag."""
        if self.format.kind != "rosbag1":
            self._writer.set_custom_data(MARKER_KEY, marker)
            return
        store = get_typestore(Stores.ROS1_NOETIC)
        conn = self._writer.add_connection(
            MARKER_TOPIC, MARKER_TYPE, typestore=store, callerid="/inspire_ros", latching=1
        )
        data = store.serialize_ros1(store.types[MARKER_TYPE](data=marker), MARKER_TYPE)
        self._writer.write(conn, timestamp, data)

    def commit(self) -> None:
        """Close the writer and move the bag into place (replacing an existing output)."""
        self._writer.close()
        try:
            if self.final.is_dir() and not self.final.is_symlink():
                shutil.rmtree(self.final)
            elif self.final.exists() or self.final.is_symlink():
                self.final.unlink()
            os.replace(self._produced, self.final)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def discard(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None and (getattr(writer, "storage", None) or getattr(writer, "bio", None)):
            try:
                writer.abort() if hasattr(writer, "abort") else writer.close()
            except Exception:  # noqa: BLE001 - cleaning up after an earlier error
                pass
        shutil.rmtree(self._folder, ignore_errors=True)


class _Rosbag2Writer(Writer2):
    """rosbags' writer with one addition: connections copied exactly as recorded.

    Its add_connection() insists on a message definition and a RIHS01 type hash. Bags recorded
    before ROS 2 Iron have no hash (and metadata v4-6 sqlite3 bags no definition either);
    inventing either would misdescribe the data, so those connections are added here the way
    add_connection() adds them, only without the check.
    """

    def add_verbatim(self, conn: Connection) -> Connection:
        ext = conn.ext
        assert isinstance(ext, ConnectionExtRosbag2)
        # add_connection() tells IDL from .msg by a text prefix; a definition it would label
        # differently from the input goes the verbatim way too.
        idl = conn.msgdef.data.startswith("=" * 80 + "\nIDL: ")
        labelled = conn.msgdef.format == (MessageDefinitionFormat.IDL if idl else MessageDefinitionFormat.MSG)
        if conn.digest and conn.msgdef.data and labelled:
            return self.add_connection(
                conn.topic, conn.msgtype, msgdef=conn.msgdef.data, rihs01=conn.digest,
                serialization_format=ext.serialization_format, offered_qos_profiles=ext.offered_qos_profiles,
            )  # fmt: skip
        if not self.storage:
            raise BagError("output bag is not open")
        out = Connection(
            id=len(self.connections) + 1,
            topic=conn.topic,
            msgtype=conn.msgtype,
            msgdef=MessageDefinition(conn.msgdef.format, conn.msgdef.data),
            digest=conn.digest,
            msgcount=0,
            ext=ConnectionExtRosbag2(ext.serialization_format, list(ext.offered_qos_profiles)),
            owner=self,
        )
        qos = (dump_qos_v9 if self.version >= 9 else dump_qos_v8)(list(ext.offered_qos_profiles))
        if not isinstance(qos, str):
            stream = StringIO()
            yaml = YAML(typ="safe")
            yaml.default_flow_style = False
            yaml.dump(qos, stream)
            qos = stream.getvalue().strip()
        # sqlite3 keeps definitions in their own table: a type without one gets no row (as in
        # the input); mcap needs a schema record per channel, so it gets an empty one.
        if conn.msgtype not in self.added_types and (conn.msgdef.data or self.storage_plugin == StoragePlugin.MCAP):
            self.storage.add_msgtype(out)
            self.added_types.add(conn.msgtype)
        self.storage.add_connection(out, qos)
        self.connections.append(out)
        self.counts[out.id] = 0
        return out
