"""Running a small pipeline and reading its output back for assertions."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.inputs import jsonl_lines, list_inputs, parse_json_line, prepare
from tests.conftest import ROOT


def run_command(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m pipeline.run ARGS`` as a user runs it, in a fresh process, offline (``env`` added)."""
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run", *args],
        cwd=ROOT,
        env={**os.environ, **offline, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def input_ids(sample: Path) -> Counter:
    ids: Counter = Counter()
    for path in list_inputs(str(sample)):
        if path.endswith(".parquet"):
            for row in pq.read_table(path).to_pylist():
                ids[prepare(row)["id"]] += 1
        else:
            for number, line in jsonl_lines(path):
                ids[prepare(parse_json_line(path, number, line))["id"]] += 1
    return ids


def read_rows(folder: Path, columns: list[str] | None = None) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(folder.rglob("*.parquet")):
        rows.extend(pq.read_table(path, columns=columns).to_pylist())
    return rows


def ledger(out: Path, stage: str | None = None) -> list[dict]:
    rows = read_rows(out / "removed" / stage if stage else out / "removed")
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def file_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for part in ("data", "removed", "modified")
        for p in sorted((out / part).rglob("*.parquet"))
    }


def pipeline_args(inp: str, out, extra=()) -> list[str]:
    """argv for a small in-process ``pipeline.run``: the basic stage only, no report, quiet."""
    return [
        "--input",
        inp,
        "--output",
        str(out),
        "--stages",
        "basic",
        "--no_report",
        "--quiet",
        "--direct_running_mode",
        "in_memory",
        "--direct_num_workers",
        "1",
        *extra,
    ]


def free_port() -> int:
    """A TCP port nothing listens on now (for a local server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def code_rows(n: int, size: int = 10, langs: tuple[str, ...] = ("js", "py")) -> list[dict]:
    """``n`` Stack-shaped rows of small code files, their extensions taking ``langs`` in turn."""
    return [
        {
            "content": f"x{i} = {'a' * (size + i % 7)}\n",
            "max_stars_repo_name": f"owner/repo{i % 3}",
            "max_stars_repo_path": f"src/f{i}.{langs[i % len(langs)]}",
            "max_stars_count": i if i % 5 else None,
        }
        for i in range(n)
    ]
