"""Latest-frame-wins slots: bounded by construction, stale frames counted, cameras take turns."""

import threading

from inspire_ros.ros.mailbox import Mailbox


def test_a_newer_frame_replaces_the_waiting_one_and_is_counted():
    box = Mailbox(2)
    assert [box.put(0, f"cam0-{i}") for i in range(5)] == [False, True, True, True, True]
    assert box.stale == [4, 0]
    assert box.take(0).msg == "cam0-4"
    assert box.take(0.01) is None  # nothing queued behind it


def test_cameras_take_turns_oldest_first():
    box = Mailbox(3)
    box.put(2, "c2")
    box.put(0, "c0")
    box.put(1, "c1")
    assert [box.take(0).camera for _ in range(3)] == [2, 0, 1]


def test_close_wakes_a_waiting_worker_and_clear_counts_what_it_drops():
    box = Mailbox(1)
    box.put(0, "x")
    assert box.clear() == [0] and box.stale == [1]
    got = []
    worker = threading.Thread(target=lambda: got.append(box.take()))
    worker.start()
    box.close()
    worker.join(5)
    assert got == [None] and not worker.is_alive()
