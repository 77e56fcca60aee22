"""``--help`` of the commands a user types answers without importing Beam (each took 2-3.4 s, Beam's import)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

COMMANDS = (
    "pipeline.finish",
    "pipeline.prepare_decontam",
    "tokenizer.tokenize",
    "tokenizer.sample_data",
    "ablation.ablate",
)


@pytest.mark.parametrize("module", COMMANDS)
def test_help_imports_no_beam_and_prints_the_commands_parser(module: str):
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{module!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_module({module!r}, run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    print('exit', done.code, 'apache_beam' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "exit 0 False"
    assert done.stdout == importlib.import_module(module).build_parser().format_help()
    assert "--output" in done.stdout
