"""The node's diagnostic_updater-style checks (stats.py, no rclpy): levels and keys."""

from __future__ import annotations

from inspire_ros.ros.stats import ERROR, OK, WARN, CameraStats, FrequencyStatus, TimeStampStatus


def test_frequency_status_levels():
    f = FrequencyStatus(min_freq=10, max_freq=10, tolerance=0.1, window_size=2)
    assert f.run(now=0.0)[:2] == (ERROR, "No events recorded.")
    for _ in range(10):
        f.tick()
    level, message, values = f.run(now=1.0)
    assert (level, values["Events in window"], values["Target frequency (Hz)"]) == (OK, "10", "10.000000")
    for _ in range(10):
        f.tick()
    assert f.run(now=2.0)[:2] == (OK, "Desired frequency met")  # 20 events over the 2 s window
    for _ in range(5):
        f.tick()
    assert f.run(now=3.0)[:2] == (WARN, "Frequency too low.")  # 15 events in the last 2 s: 7.5 Hz
    for _ in range(30):
        f.tick()
    assert f.run(now=4.0)[:2] == (WARN, "Frequency too high.")  # 35 in 2 s
    unchecked = FrequencyStatus()
    assert unchecked.run(now=0.0)[0] == OK and unchecked.run(now=1.0)[0] == OK  # silent, nothing expected


def test_timestamp_status_levels():
    t = TimeStampStatus(min_acceptable=-1.0, max_acceptable=5.0)
    assert t.run()[:2] == (WARN, "No data since last update.")
    t.tick(stamp_s=100.0, now_s=100.2)
    level, message, values = t.run()
    assert (level, message, values["Latest timestamp delay:"]) == (OK, "Timestamps are reasonable.", "0.200000")
    t.tick(stamp_s=1.0, now_s=100.0)
    assert t.run()[:2] == (ERROR, "Timestamps too far in past seen.")
    t.tick(stamp_s=110.0, now_s=100.0)
    assert t.run()[:2] == (ERROR, "Timestamps too far in future seen.")
    t.tick(stamp_s=0.0, now_s=100.0)
    level, message, values = t.run()
    assert (level, message, values["Zero seen diagnostic update count:"]) == (ERROR, "Zero timestamp seen.", "1")


def test_depth_refusals_are_not_failures():
    stats = CameraStats()
    stats.window()
    stats.received, stats.depth_refused = 3, 3
    window = stats.window()
    assert (window["new_depth"], window["new_failures"], stats.failed) == (3, 0, 0)
