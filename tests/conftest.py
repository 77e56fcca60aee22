"""Shared fixtures: offline environment, the shared data folder, a small sample and one pipeline run on it.

The sample and the run are built once per test session (and shared between
pytest-xdist workers through a lock-protected cache folder), because a Beam
run costs seconds and many tests read the same output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CACHE = ROOT / ".cache" / "tests"


@pytest.fixture(autouse=True)
def _no_progress_reporter_left_running():
    """A test that builds a graph without running it through ``pipeline.job.run`` (the type checks, a
    launcher that "dies") starts the shared progress reporter and its spool; stop it after the test, so
    that the next test in this process does not inherit its thread and STACKCURATE_PROGRESS_SPOOL."""
    yield
    if "pipeline.progress" in sys.modules:
        sys.modules["pipeline.progress"].shared_progress().close()


@pytest.fixture(autouse=True)
def _free_memory_does_not_cap_local_workers(monkeypatch):
    """In-process worker counts follow the cores a test sets, not how much memory the test machine has
    free; the tests of the memory cap (tests/pipeline/test_cores.py) set the memory they mean."""
    from pipeline import cores

    monkeypatch.setattr(cores, "memory_at_start", lambda: None)


SAMPLE_MB = 3.0
SAMPLE_SEED = 7


def _cached(name: str, key: str, make) -> Path:
    """Build ``make(path)`` once per key across processes (pytest-xdist workers share it)."""
    from filelock import FileLock

    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    with FileLock(str(target) + ".lock"):
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            make(target)
            (target / ".done").write_text(key)
    return target


def _source_key(*parts: str) -> str:
    digest = hashlib.sha1()
    for rel in parts:
        for path in sorted((ROOT / rel).rglob("*.py")) + sorted((ROOT / rel).rglob("*.yaml")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def sample_dir(shared_dir: Path) -> Path:
    """A small (~3 MB) Stack-format sample with planted cases and truth.json."""
    from samplegen.sample import build_sample

    def make(path: Path) -> None:
        build_sample(
            path,
            size_mb=SAMPLE_MB,
            seed=SAMPLE_SEED,
            benchmarks_dir=shared_dir / "benchmarks",
            optout_list=shared_dir / "optout" / "optouts.jsonl",
        )

    return _cached("sample", f"{SAMPLE_MB}-{SAMPLE_SEED}-{_source_key('samplegen', 'pipeline')}", make)


@pytest.fixture(scope="session")
def truth(sample_dir: Path) -> dict:
    return json.loads((sample_dir / "truth.json").read_text())


def base_args(sample: Path, out: Path, shared: Path) -> list[str]:
    return [
        "--input",
        str(sample),
        "--output",
        str(out),
        "--benchmarks_dir",
        str(shared / "benchmarks"),
        "--optout_list",
        str(shared / "optout" / "optouts.jsonl"),
        "--no_report",
        "--quiet",
    ]


@pytest.fixture(scope="session")
def spine_run(sample_dir: Path, shared_dir: Path) -> Path:
    """The sample through validate, optout, exact_dedup and basic (in-memory FnApiRunner)."""
    from pipeline.run import run

    def make(path: Path) -> None:
        run(
            base_args(sample_dir, path, shared_dir)
            + [
                "--stages",
                "optout,exact_dedup,basic",
                "--direct_running_mode",
                "in_memory",
                "--direct_num_workers",
                "1",
            ]
        )

    key = f"{sample_dir}-{_source_key('pipeline')}-{_source_key('filters')}-{_source_key('dedup')}"
    return _cached("spine-run", key, make)
