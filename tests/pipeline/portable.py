"""Running the santacoder job on a portable runner (Flink, Spark) for a test: Beam's worker pool as the SDK
workers' home, the job in a child process with a time limit, and its output against the local run's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from release.verify import check_ledger
from tests.conftest import ROOT
from tests.pipeline.helpers import file_bytes, read_rows

needs_java = pytest.mark.skipif(
    shutil.which("java") is None or shutil.which("mvn") is None,
    reason="the job servers need Java and Maven (make jars)",
)
POOL_START_S = 60
RUN_LIMIT_S = 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def stop_group(proc: subprocess.Popen) -> None:
    """End ``proc`` and everything it started (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def worker_pool(tmp_path):
    """Beam's Python worker pool on a free port; it starts each SDK worker as ``python`` from PATH."""
    port = _free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "worker_pool.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + POOL_START_S
        while True:
            assert proc.poll() is None, f"worker pool exited: {log.read_text()}"
            with socket.socket() as sock:
                if sock.connect_ex(("localhost", port)) == 0:
                    break
            assert time.monotonic() < deadline, f"worker pool not listening after {POOL_START_S} s"
            time.sleep(0.2)
        yield port, log
    finally:
        stop_group(proc)


def run_job(argv: list[str]) -> None:
    """``python -m pipeline.run argv`` in a child process (so the job server, and the engine it started,
    end with it), in its own group (so a run past the limit is ended whole); its log on failure."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=RUN_LIMIT_S)
    finally:
        stop_group(proc)
    assert proc.returncode == 0, log.decode(errors="replace")[-5000:]


def assert_same_output(local: Path, out: Path, runner: str) -> None:
    """``out`` was written by ``runner``, keeps the ledger invariant and holds the local run's bytes."""
    assert json.loads((out / "stats.json").read_text())["runner"] == runner
    assert check_ledger(out) == []
    here, there = file_bytes(local), file_bytes(out)
    assert sorted(there) == sorted(here)
    assert [name for name in here if here[name] != there[name]] == []
    assert len(read_rows(out / "data", ["id"])) > 0
