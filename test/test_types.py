"""FrameStatus: one enum for what became of a frame, written into reports as the strings they
have always held, and equal to those strings when a report, journal or audit is read back."""

import json

from inspire_ros.types import FrameStatus

STRINGS = {"unchanged", "anonymized", "blanked", "dropped", "invalidated", "ok"}


def test_reports_keep_their_strings():
    assert {s.value for s in FrameStatus} == STRINGS
    for status in FrameStatus:
        assert json.loads(json.dumps({"status": status})) == {"status": status.value}
        assert str(status) == f"{status}" == status.value  # log lines and messages
        assert status == status.value and hash(status) == hash(status.value)  # read back from JSON
        assert FrameStatus(status.value) is status
    assert " or ".join(sorted({FrameStatus.DROPPED, FrameStatus.BLANKED})) == "blanked or dropped"
