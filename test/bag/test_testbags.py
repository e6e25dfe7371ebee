"""The rosbag2 project's own test bags (no images): every readable one comes out byte-identical,
the broken ones fail with a clear error and leave nothing behind."""

from pathlib import Path

import pytest
import yaml
from rosbags.rosbag2 import Reader

from inspire_ros.bag.errors import BagError
from inspire_ros.bag.sanitize import SanitizeOptions, sanitize
from inspire_ros.bag.source import BagSource
from inspire_ros.bag.verify import verify
from inspire_ros.cli.main import main
from inspire_ros.pipeline import Anonymizer

from support import SHARED

pytestmark = pytest.mark.usefixtures("shared")  # real data or the default detector from the shared folder

ROOT = SHARED / "data" / "rosbag2_testbags"
# Serialization format 'wrong_format': not CDR, so no reader can make sense of the bytes.
BROKEN = {"rosbag2_tests/resources/mcap/wrong_rmw_test", "rosbag2_tests/resources/sqlite3/wrong_rmw_test"}


def all_testbags() -> list[Path]:
    folders = {p.parent for p in ROOT.rglob("metadata.yaml")}
    files = {p for p in [*ROOT.rglob("*.mcap"), *ROOT.rglob("*.db3")] if p.parent not in folders}
    return sorted(folders | files)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


READABLE = [p for p in all_testbags() if rel(p) not in BROKEN]


@pytest.fixture(scope="module")
def anonymizer(default_cfg) -> Anonymizer:
    return Anonymizer(default_cfg.replace(seed=0))


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "inspire-tmp" in p.name]


def messages_by_topic(path: Path, plain_reader: bool) -> dict[str, list[tuple[int, bytes]]]:
    """Per topic, sorted (timestamp, bytes). The output is read with rosbags' own Reader, the
    input with BagSource (rosbags' folder reader skips messages of some v4/v5 test bags)."""
    out: dict[str, list[tuple[int, bytes]]] = {}
    if plain_reader:
        with Reader(path) as reader:
            for conn, t, data in reader.messages():
                out.setdefault(conn.topic, []).append((t, bytes(data)))
    else:
        with BagSource(path) as source:
            for conn, t, data in source.messages():
                out.setdefault(conn.topic, []).append((t, bytes(data)))
    return {topic: sorted(items) for topic, items in out.items()}


def test_the_testbags_are_all_there():
    assert len(READABLE) >= 28 and len(BROKEN) == 2
    versions = {yaml.safe_load((p / "metadata.yaml").read_text())["rosbag2_bagfile_information"]["version"]
                for p in READABLE if p.is_dir()}  # fmt: skip
    assert versions == {4, 5, 6, 7, 8}


@pytest.mark.parametrize("bag", READABLE, ids=rel)
def test_testbag_passes_through_byte_identical(bag, tmp_path, anonymizer):
    out = tmp_path / ("out" + bag.suffix if bag.is_file() else "out")
    report = sanitize(bag, out, anonymizer, SanitizeOptions(progress=False))
    assert not report.anonymized_topics() and not report.frames
    assert not leftovers(tmp_path)

    # Every message: the count the recorder wrote into the metadata, not just what a reader sees.
    if bag.is_dir():
        info = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        assert sum(t.messages_in for t in report.topics.values()) == info["message_count"]
    assert messages_by_topic(out, plain_reader=True) == messages_by_topic(bag, plain_reader=False)

    with BagSource(bag) as a, BagSource(out) as b:
        assert b.format.storage == a.format.storage and b.format.layout == a.format.layout
        assert b.format.compression == a.format.compression
        pairs = {(c.topic, c.msgtype): c for c in b.connections}
        for conn in a.connections:
            copy = pairs[(conn.topic, conn.msgtype)]
            assert copy.msgdef.data == conn.msgdef.data and copy.digest == conn.digest
            assert copy.ext == conn.ext  # serialization format and offered QoS
    result = verify(bag, out, report.to_dict())
    assert result.ok, result.lines()


@pytest.mark.parametrize("bag", sorted(BROKEN))
def test_wrong_serialization_fails_cleanly(bag, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["bag", "sanitize", str(ROOT / bag), str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "inspire: error:" in err and "wrong_format" in err and "CDR" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_split_bag_becomes_one_file_with_every_message(tmp_path, anonymizer):
    bag = ROOT / "rosbag2_py/test/resources/mcap/wbag"
    assert len(list(bag.glob("*.mcap"))) == 5
    out = tmp_path / "out"
    report = sanitize(bag, out, anonymizer, SanitizeOptions(progress=False, storage="sqlite3"))
    assert sum(t.messages_out for t in report.topics.values()) == 6074
    assert [p.name for p in out.iterdir() if p.suffix == ".db3"] == ["out.db3"]
    assert messages_by_topic(out, plain_reader=True) == messages_by_topic(bag, plain_reader=False)


def test_folder_without_metadata_is_explained(tmp_path, anonymizer):
    (tmp_path / "bag").mkdir()
    with pytest.raises(BagError, match="without metadata.yaml.*ros2 bag reindex"):
        sanitize(tmp_path / "bag", tmp_path / "out", anonymizer, SanitizeOptions(progress=False))
    with pytest.raises(BagError, match="does not exist"):
        sanitize(tmp_path / "nothing.mcap", tmp_path / "out", anonymizer, SanitizeOptions(progress=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag"]
