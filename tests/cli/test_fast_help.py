"""``--help`` of the commands a user types answers before the heavy imports: Beam took 2-3.4 s of it
(pipeline.finish, prepare_decontam, the job server jars, the tokenizer commands, ablation.ablate), torch
6-7 s (the model commands and their bench, bench.model: 7.7 s), the PII detector's pre-scan (numba
kernels, automata) and Presidio 1-1.6 s (the PII evaluation commands). ``pipeline.run``'s own fast help
is checked in ``tests/pipeline/test_arguments.py``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests.conftest import ROOT

COMMANDS = (
    "pipeline.finish",
    "pipeline.prepare_decontam",
    "pipeline.job_servers",
    "tokenizer.tokenize",
    "tokenizer.sample_data",
    "ablation.ablate",
    "model.train",
    "model.evaluate",
    "bench.model",
    "bench.near_dedup_quality",
    "pii.evaluate",
    "pii.scan_tree",
    "pii.shapes",
)
HEAVY = ("apache_beam", "torch", "numba", "presidio_analyzer")


@pytest.mark.parametrize("module", COMMANDS)
def test_help_imports_nothing_heavy_and_prints_the_commands_parser(module: str):
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{module!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__')\n"
        "except SystemExit as done:\n"
        f"    print('exit', done.code, *[name in sys.modules for name in {HEAVY!r}], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "exit 0" + " False" * len(HEAVY)
    assert done.stdout == importlib.import_module(module).build_parser().format_help()
    assert done.stdout.startswith(f"usage: python -m {module} ")
