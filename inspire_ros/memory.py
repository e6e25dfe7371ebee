"""Process memory as Linux reports it in /proc/<pid>/status: the node's diagnostics and the
benchmarks read it here."""

from __future__ import annotations


def status_mb(field: str = "VmRSS", pid: int | str = "self") -> float | None:
    """`field` of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak resident) in MB, or None
    where unknown (no /proc, no such process or field)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
