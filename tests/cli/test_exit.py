"""How a command's process ends once its work is done."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_a_finished_command_exits_without_the_last_full_collection():
    """The interpreter's last collection skips frozen objects: a job's process exits at once after
    printing (it walked the whole heap for 0.6-1.1 s after a 200 MB job)."""
    code = """
import atexit, gc, sys
from cli.command import run_cli
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
run_cli(lambda argv: 3, "x")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "frozen at exit: True\n"
