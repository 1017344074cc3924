"""The /proc reader the process tests and the benchmarks share, on a real process whose command
name is made to confuse a naive split: spaces and a closing parenthesis."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import descendants, running
from tests.processes import stat_fields


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields(tmp_path: Path) -> None:
    sleeper = tmp_path / "a) b (c"
    sleeper.symlink_to(shutil.which("sleep") or "/bin/sleep")
    child = subprocess.Popen([str(sleeper), "30"])
    try:
        deadline = time.monotonic() + 10  # until the child has exec'd (before that it is a copy of pytest)
        while Path(f"/proc/{child.pid}/comm").read_text().strip() != "a) b (c" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert Path(f"/proc/{child.pid}/comm").read_text().strip() == "a) b (c"
        fields = stat_fields(child.pid)
        assert fields[0] in "RSD"
        assert int(fields[1]) == os.getpid()
        assert int(fields[11]) >= 0 and int(fields[12]) >= 0
        assert child.pid in descendants(os.getpid())
        assert running(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not running(child.pid)
    with pytest.raises(OSError):
        stat_fields(child.pid)
