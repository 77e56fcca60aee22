"""``python -m pipeline.run --help`` answers without importing Beam (it took ~2 s, Beam's import)."""

from __future__ import annotations

import subprocess
import sys

from pipeline.arguments import run_parser


def test_help_imports_no_beam_and_prints_the_runs_own_help():
    code = (
        "import sys\n"
        "from pipeline.run import main\n"
        "try:\n"
        "    main(['--input', 'x', '--help'])\n"
        "except SystemExit as done:\n"
        "    print('exit', done.code, 'apache_beam' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stderr.strip().splitlines()[-1] == "exit 0 False"
    assert done.stdout == run_parser().format_help()
    for stage in ("near_dedup_alt", "decontam", "comments"):  # the stages and presets are listed
        assert stage in done.stdout
    assert "santacoder" in done.stdout
