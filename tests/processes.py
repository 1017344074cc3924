"""A process's line in /proc (Linux), read in one place: the tests that kill and watch the service's
processes read its state and parent there, the benchmarks its CPU time."""

from __future__ import annotations

from pathlib import Path


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name, which may itself hold spaces and
    parentheses (so the line is cut at its last `)`): [0] state, [1] parent pid, [11] user and [12]
    system CPU time in clock ticks (proc(5), fields 3, 4, 14 and 15). OSError when there is no such process."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
