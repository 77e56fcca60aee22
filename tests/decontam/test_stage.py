"""The ``decontam`` stage: config, Beam wrapper and ledger, and recall on the sample's planted cases."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from decontam.strings import HUMANEVAL_WHITELIST
from pipeline.stages import load_spec
from pipeline.stages.base import StageContext
from pipeline.stages.decontam import DecontamConfig, DecontamJudge, resolve_source
from tests.decontam.helpers import BENCHMARKS, needs_shared
from tests.stage_runner import run_stage


def test_config_defaults_and_registry():
    spec = load_spec("decontam")
    assert spec.config is DecontamConfig and spec.name == "decontam"
    cfg = DecontamConfig(enabled=True)
    assert cfg.benchmarks == ["humaneval", "mbpp", "apps", "multipl-e"]
    assert (cfg.source, cfg.mode, cfg.ngram_size, cfg.min_chars) == ("hub", "substring", 13, 0)
    assert cfg.whitelist == list(HUMANEVAL_WHITELIST)
    assert resolve_source(cfg, StageContext()) == "hub"
    assert resolve_source(cfg, StageContext(benchmarks_dir="/data/b")) == "/data/b"
    with pytest.raises(ValueError):
        DecontamConfig(mode="fuzzy")
    with pytest.raises(ValueError):
        DecontamConfig(benchmarks=["gsm8k"])


def _doc(i: int, content: str) -> dict:
    return {"id": f"{i:020x}", "content": content, "lang": "python", "max_stars_repo_name": f"o/r{i}",
            "max_stars_repo_path": f"f{i}.py"}  # fmt: skip


@needs_shared
def test_beam_stage_removes_and_writes_ledger(tmp_path):
    mbpp = json.loads((BENCHMARKS / "mbpp" / "mbpp.jsonl").read_text().splitlines()[11])  # task 12
    docs = [
        _doc(1, "import os\n\n" + mbpp["code"].replace("\r\n", "\n").upper()),
        _doc(2, "def add(x, y):\n    return x + y\n"),  # whitelisted HumanEval/53 solution
        _doc(3, "print('hello world')\n"),
        _doc(4, "x = 1\n# " + mbpp["text"] + "\n"),
    ]
    cfg = DecontamConfig(enabled=True, benchmarks=["humaneval", "mbpp"])
    kept, removed = run_stage(
        load_spec("decontam"), cfg, docs, tmp_path, StageContext(benchmarks_dir=str(BENCHMARKS))
    )
    assert sorted(d["id"] for d in kept) == [docs[1]["id"], docs[2]["id"]]
    rows = [(r["id"], r["stage"], r["reason"], json.loads(r["detail"])) for r in removed]
    expected = [
        (docs[0]["id"], "decontam", "mbpp", {"benchmark": "mbpp", "task_id": "12", "field": "code", "offset": 11,
                                            "matched_chars": len(mbpp["code"].replace("\r\n", "\n").strip()),
                                            "match": "substring"}),
        (docs[3]["id"], "decontam", "mbpp", {"benchmark": "mbpp", "task_id": "12", "field": "text", "offset": 8,
                                            "matched_chars": len(mbpp["text"].strip()), "match": "substring"}),
    ]  # fmt: skip
    assert sorted(rows, key=lambda r: r[0]) == expected


@pytest.fixture(scope="module")
def sample_docs(sample_dir) -> tuple[list[dict], dict]:
    truth = json.loads((sample_dir / "truth.json").read_text())
    docs = [row for path in sorted(sample_dir.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]
    return docs, truth


@needs_shared
def test_sample_planted_recall_and_no_other_removals(sample_docs):
    from pipeline.ids import doc_id

    docs, truth = sample_docs
    judge = DecontamJudge(DecontamConfig(enabled=True), str(BENCHMARKS))
    judge.setup()
    verdicts = judge.judge(docs)
    ids = [
        d.get("id") or doc_id(d["max_stars_repo_name"], d["max_stars_repo_path"], d["content"]) for d in docs
    ]
    removed = {i: v for i, v in zip(ids, verdicts, strict=True) if not v.keep}
    planted = {t["id"]: t for t in truth["decontam"]}
    assert len(planted) >= 10
    assert {t["case"] for t in planted.values()} >= {"verbatim", "upper"}
    assert {t["benchmark"] for t in planted.values()} == {"humaneval", "mbpp", "apps", "multipl-e"}
    missed = [t for i, t in planted.items() if i not in removed]
    assert missed == []  # recall 1.0 over every benchmark and case
    for i, t in planted.items():  # the ledger names the planted benchmark and task
        assert (removed[i].reason, removed[i].detail["task_id"]) == (t["benchmark"], str(t["task_id"]))
    assert sorted(set(removed) - set(planted)) == []  # nothing else in the sample is removed
