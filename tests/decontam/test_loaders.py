"""Every loader on the shared benchmark files, locally and through ``datasets`` pointed at local copies."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from decontam.loaders import (
    HubIds,
    hub_apps,
    hub_humaneval,
    hub_mbpp,
    hub_multipl_e,
    load_benchmark_strings,
    local_apps,
    local_humaneval,
    local_mbpp,
    local_multipl_e,
)
from decontam.strings import (
    HUMANEVAL_WHITELIST,
    extract_docstring,
    humaneval_strings,
    mbpp_strings,
)
from tests.decontam.helpers import BENCHMARKS, needs_shared

pytestmark = needs_shared

APPS_SOLUTIONS = {"train/0001": 24, "train/0111": 1, "train/2287": 10, "train/2404": 58, "train/4184": 8}
MULTIPL_E_RECORDS = {
    "humaneval-java-keep": 158,
    "humaneval-java-remove": 155,
    "humaneval-java-reworded": 158,
    "humaneval-java-transform": 158,
    "humaneval-js-keep": 161,
    "humaneval-js-remove": 158,
    "humaneval-js-reworded": 161,
    "humaneval-js-transform": 161,
    "mbpp-java-keep": 387,
    "mbpp-java-reworded": 387,
    "mbpp-js-keep": 399,
    "mbpp-js-reworded": 399,
}


def test_humaneval_local_records_and_strings():
    records = local_humaneval(BENCHMARKS)
    assert len(records) == 164
    assert {"task_id", "prompt", "canonical_solution", "test", "entry_point"} <= set(records[0])
    strings = humaneval_strings(records)
    fields = Counter(s.field for s in strings)
    assert fields == {"docstring": 164, "canonical_solution": 160}  # 4 whitelisted solutions
    assert all(s.text and s.benchmark == "humaneval" and s.task_id.startswith("HumanEval/") for s in strings)
    # HumanEval/10's prompt has two functions: the entry point's docstring is the second one.
    assert extract_docstring(records[10]["prompt"]).startswith("Find the shortest palindrome")


def test_mbpp_local_keeps_task_ids_11_to_510():
    records = local_mbpp(BENCHMARKS)
    assert len(records) == 974
    assert {"text", "code", "task_id", "test_list"} <= set(records[0])
    strings = mbpp_strings(records)
    assert len(strings) == 1000
    ids = sorted({int(s.task_id) for s in strings})
    assert ids[0] == 11 and ids[-1] == 510 and len(ids) == 500
    assert Counter(s.field for s in strings) == {"text": 500, "code": 500}


def test_apps_local_per_problem_layout():
    strings = local_apps(BENCHMARKS)
    questions = {s.task_id for s in strings if s.field == "question"}
    assert questions == set(APPS_SOLUTIONS)
    solutions = Counter(s.task_id for s in strings if s.field.startswith("solution:"))
    assert solutions == APPS_SOLUTIONS
    assert len(local_apps(BENCHMARKS, with_solutions=False)) == 5


def _apps_hub_jsonl(path: Path) -> None:
    """The 5 problems written as the Hub's codeparrot/apps jsonl (solutions as a JSON string)."""
    with path.open("w") as f:
        for problem in sorted((BENCHMARKS / "apps" / "train").iterdir()):
            starter = problem / "starter_code.py"
            row = {
                "id": int(problem.name),
                "question": (problem / "question.txt").read_text(),
                "solutions": (problem / "solutions.json").read_text(),
                "input_output": (problem / "input_output.json").read_text(),
                "difficulty": json.loads((problem / "metadata.json").read_text())["difficulty"],
                "url": json.loads((problem / "metadata.json").read_text())["url"],
                "starter_code": starter.read_text() if starter.exists() else "",
            }
            f.write(json.dumps(row) + "\n")


def test_apps_local_hub_jsonl_layout_equals_per_problem_layout(tmp_path):
    (tmp_path / "apps").mkdir()
    _apps_hub_jsonl(tmp_path / "apps" / "train.jsonl")
    from_jsonl = local_apps(tmp_path)
    assert from_jsonl == local_apps(BENCHMARKS)
    assert len(from_jsonl) == 5 + sum(APPS_SOLUTIONS.values())


def test_multipl_e_local_all_variants():
    strings = local_multipl_e(BENCHMARKS, ["java", "javascript"])
    per_file = Counter(
        f"{s.task_id.split('_')[0].lower()}-{s.field.split(':')[1]}-{s.field.split(':')[2]}" for s in strings
    )
    assert per_file == MULTIPL_E_RECORDS
    assert sum(per_file.values()) == 2842
    only_java = local_multipl_e(BENCHMARKS, ["java"])
    assert len(only_java) == 158 + 155 + 158 + 158 + 387 + 387
    assert local_multipl_e(BENCHMARKS, ["python"]) == []  # no Python prompts in the shared folder


def test_load_benchmark_strings_local_totals():
    strings = load_benchmark_strings(source=str(BENCHMARKS))
    assert Counter(s.benchmark for s in strings) == {
        "humaneval": 324,
        "mbpp": 1000,
        "apps": 106,
        "multipl-e": 2842,
    }
    assert len(load_benchmark_strings(["mbpp"], str(BENCHMARKS))) == 1000
    with pytest.raises(ValueError, match="unknown benchmark"):
        load_benchmark_strings(["gsm8k"], str(BENCHMARKS))
    with pytest.raises(FileNotFoundError, match="no/such/dir"):
        load_benchmark_strings(source="/no/such/dir")


# ---------------------------------------------------------------- the Hub path, offline


@pytest.fixture()
def hub(tmp_path, monkeypatch) -> HubIds:
    """Local folders in the Hub repositories' layouts; ``datasets`` caches under tmp_path."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    humaneval = tmp_path / "openai_humaneval"
    humaneval.mkdir()
    with gzip.open(BENCHMARKS / "humaneval" / "HumanEval.jsonl.gz", "rt") as src:
        (humaneval / "test.jsonl").write_text(src.read())

    mbpp = tmp_path / "mbpp"
    (mbpp / "full").mkdir(parents=True)
    splits = {
        "prompt": range(1, 11),
        "test": range(11, 511),
        "validation": range(511, 601),
        "train": range(601, 975),
    }
    rows = [json.loads(line) for line in (BENCHMARKS / "mbpp" / "mbpp.jsonl").read_text().splitlines()]
    yaml = ["---", "configs:", "- config_name: full", "  data_files:"]
    schema = pa.schema(
        [("task_id", pa.int32()), ("text", pa.string()), ("code", pa.string()), ("test_list", pa.list_(pa.string())),
         ("test_setup_code", pa.string()), ("challenge_test_list", pa.list_(pa.string()))]
    )  # fmt: skip
    for split, ids in splits.items():
        part = pa.Table.from_pylist([r for r in rows if r["task_id"] in ids], schema=schema)
        pq.write_table(part, mbpp / "full" / f"{split}-00000-of-00001.parquet")
        yaml += [f"  - split: {split}", f"    path: full/{split}-*.parquet"]
    (mbpp / "README.md").write_text("\n".join([*yaml, "---", ""]))

    apps = tmp_path / "apps"
    apps.mkdir()
    _apps_hub_jsonl(apps / "test.jsonl")

    multipl_e = tmp_path / "multipl_e"
    multipl_e.mkdir()
    yaml = ["---", "configs:"]
    for name in sorted(MULTIPL_E_RECORDS):
        config = name.replace("-reworded", "")  # the Hub's unsuffixed configs are the reworded prompts
        shutil.copy(BENCHMARKS / "multipl-e" / f"{name}.jsonl", multipl_e / f"{config}.jsonl")
        yaml += [f"- config_name: {config}", "  data_files:", "  - split: test", f"    path: {config}.jsonl"]
    (multipl_e / "README.md").write_text("\n".join([*yaml, "---", ""]))
    return HubIds(str(humaneval), str(mbpp), str(apps / "{split}.jsonl"), str(multipl_e))


def test_hub_loaders_through_datasets_match_local_files(hub):
    assert hub_humaneval(hub) == local_humaneval(BENCHMARKS)
    mbpp_rows = hub_mbpp(hub)
    assert len(mbpp_rows) == 974
    assert mbpp_strings(mbpp_rows) == mbpp_strings(local_mbpp(BENCHMARKS))
    apps = hub_apps(hub, "test")
    assert Counter(s.task_id for s in apps) == {f"test/{k[6:]}": v + 1 for k, v in APPS_SOLUTIONS.items()}
    assert [s.text for s in apps] == [s.text for s in local_apps(BENCHMARKS)]
    multipl_e = hub_multipl_e(hub, ["java", "javascript"])
    assert Counter(s.field.split(":", 1)[1] for s in multipl_e)["java:reworded"] == 158 + 387
    assert len(multipl_e) == 2842


def test_hub_source_end_to_end(hub):
    strings = load_benchmark_strings(hub_ids=hub, whitelist=HUMANEVAL_WHITELIST)
    assert Counter(s.benchmark for s in strings) == {
        "humaneval": 324,
        "mbpp": 1000,
        "apps": 106,
        "multipl-e": 2842,
    }
