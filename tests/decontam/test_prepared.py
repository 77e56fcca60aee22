"""Prepared strings files: made once by ``pipeline.prepare_decontam``, equal to loading the benchmarks, refused when stale."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from decontam.loaders import load_benchmark_strings
from decontam.prepared import read_prepared
from pipeline import prepare_decontam
from pipeline.stages.base import StageContext
from pipeline.stages.decontam import DecontamConfig, DecontamJudge, make_judge, string_options
from tests.decontam.helpers import BENCHMARKS, needs_shared

pytestmark = needs_shared


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prepared") / "strings.jsonl.gz"
    assert prepare_decontam.main(["--output", str(path), "--benchmarks_dir", str(BENCHMARKS)]) == 0
    return path


def test_prepared_file_holds_exactly_the_loaded_strings(prepared: Path) -> None:
    cfg = DecontamConfig(enabled=True)
    expected = load_benchmark_strings(source=str(BENCHMARKS), **string_options(cfg))
    lines = gzip.decompress(prepared.read_bytes()).decode().splitlines()  # gzip by the suffix
    assert json.loads(lines[0])["count"] == len(expected) == len(lines) - 1 > 4000
    assert read_prepared(str(prepared), string_options(cfg)) == expected
    assert {s.benchmark for s in expected} == {"humaneval", "mbpp", "apps", "multipl-e"}


def test_stage_with_a_prepared_source_finds_what_the_directory_finds(prepared: Path) -> None:
    mbpp = json.loads((BENCHMARKS / "mbpp" / "mbpp.jsonl").read_text().splitlines()[11])
    docs = [
        {"id": "a", "content": "import os\n\n" + mbpp["code"].replace("\r\n", "\n")},
        {"id": "b", "content": "print('hello world')\n"},
    ]
    cfg = DecontamConfig(enabled=True, source=str(prepared))
    from_file = DecontamJudge(cfg, str(prepared)).judge(docs)
    from_dir = DecontamJudge(cfg, str(BENCHMARKS)).judge(docs)
    assert from_file == from_dir
    assert [v.keep for v in from_file] == [False, True] and from_file[0].reason == "mbpp"
    # A local prepared file is read at the launcher and shipped, like a local directory.
    assert make_judge(cfg, StageContext()) is not None


def test_stale_or_truncated_files_are_refused(prepared: Path, tmp_path: Path) -> None:
    other = DecontamConfig(enabled=True, apps_solutions=False)
    with pytest.raises(ValueError, match="apps_solutions differ"):
        read_prepared(str(prepared), string_options(other))
    lines = gzip.decompress(prepared.read_bytes()).splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines[:-3]) + b"\n")
    with pytest.raises(ValueError, match="truncated"):
        read_prepared(str(cut), string_options(DecontamConfig()))
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"task_id": "x"}\n')
    with pytest.raises(ValueError, match="not a prepared"):
        read_prepared(str(junk), string_options(DecontamConfig()))


def test_cli_uses_the_runs_config(tmp_path: Path) -> None:
    overlay = tmp_path / "my.yaml"
    overlay.write_text(
        yaml.safe_dump({"stages": {"decontam": {"enabled": True, "benchmarks": ["humaneval"]}}})
    )
    out = tmp_path / "he.jsonl"
    args = ["--output", str(out), "--config", str(overlay), "--benchmarks_dir", str(BENCHMARKS)]
    assert prepare_decontam.main(args) == 0
    strings = read_prepared(str(out), string_options(DecontamConfig(benchmarks=["humaneval"])))
    assert {s.benchmark for s in strings} == {"humaneval"} and len(strings) > 160
    with pytest.raises(SystemExit):
        prepare_decontam.main(["--output", str(tmp_path / "x.txt"), "--benchmarks_dir", str(BENCHMARKS)])
