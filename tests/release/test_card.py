"""The dataset card: YAML header the Hub and ``datasets`` understand, and body numbers that match the output."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from release.card import render_card, write_card
from release.verify import check_ledger
from tests.pipeline.ship_fixtures import LANGS, make_fake_output


def _split(card: str) -> tuple[dict, str]:
    assert card.startswith("---\n")
    header, body = card[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


def test_header_has_one_config_per_language_and_licence_metadata(tmp_path):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=60)
    path = write_card(out, repo_id="curators/stack-py")
    assert Path(path) == out / "README.md"
    header, body = _split(Path(path).read_text())
    assert header["configs"] == [
        {
            "config_name": "java",
            "data_files": [{"split": "train", "path": "data/java/*.parquet"}],
            "default": True,
        },
        {
            "config_name": "javascript",
            "data_files": [{"split": "train", "path": "data/javascript/*.parquet"}],
        },
        {"config_name": "python", "data_files": [{"split": "train", "path": "data/python/*.parquet"}]},
    ]
    assert header["license"] == "other" and header["license_name"] == "the-stack-permissive-licenses"
    assert header["source_datasets"] == ["bigcode/the-stack-dedup"]
    assert header["size_categories"] == ["n<1K"] and header["task_categories"] == ["text-generation"]
    assert 'ds = load_dataset("curators/stack-py", "java", split="train")' in body

    with_ledger, _ = _split(render_card(out, include_ledger=True))
    assert with_ledger["configs"][-1] == {
        "config_name": "removed",
        "data_files": [{"split": "train", "path": "removed/*/*.parquet"}],
    }
    unpublished = render_card(out)  # before publishing: named after the output folder
    assert 'load_dataset("out", "java"' in unpublished and "\n# out\n" in unpublished


def test_body_numbers_match_stats_ledger_and_data(tmp_path):
    out = tmp_path / "out"
    stats = make_fake_output(out, docs_per_lang=100)
    _, body = _split(render_card(out))
    # stage table: near_dedup on python removed int(80 * 0.12) = 9 of 80 docs
    row = stats["stages"][4]["langs"]["python"]
    removed = row["removed"]["near_duplicate"]
    assert (row["docs_in"], removed["docs"]) == (80, 9)
    assert f"| near_dedup | python | 80 | 9 | 11.25% | {removed['bytes'] / 1e6:,.2f} |" in body

    decontam = pq.read_table(out / "removed" / "decontam").to_pylist()
    by_benchmark = Counter((json.loads(r["detail"])["benchmark"], r["lang"]) for r in decontam)
    for (benchmark, lang), n in by_benchmark.items():
        assert f"| {benchmark} | {lang} | {n:,} |" in body
    for listed in (
        "- `humaneval`: HumanEval",
        "- `mbpp`: MBPP (text and code",
        "- `apps`: APPS",
        "- `multipl-e`",
    ):
        assert listed in body

    pii = Counter()
    for r in pq.read_table(out / "modified" / "pii").to_pylist():
        for kind, n in json.loads(r["counts"]).items():
            pii[(kind, r["lang"])] += n
    assert all(f"| {kind} | {lang} | {n:,} |" in body for (kind, lang), n in pii.items())

    licences = Counter()
    for lang in LANGS:
        for value in (
            pq.read_table(out / "data" / lang, columns=["max_stars_repo_licenses"]).column(0).to_pylist()
        ):
            licences.update(value)
    assert all(f"| {name} | {n:,} |" in body for name, n in licences.items())
    assert "min_alphanum_fraction: 0.25" in body  # the resolved config, as run


def test_real_pipeline_output_passes_the_ledger_and_gets_a_card(spine_run):
    assert check_ledger(spine_run) == []
    header, body = _split(render_card(spine_run, repo_id="curators/spine"))
    langs = sorted(p.name for p in (spine_run / "data").iterdir() if p.is_dir())
    assert [c["config_name"] for c in header["configs"]] == langs
    stats = json.loads((spine_run / "stats.json").read_text())
    for stage in stats["stages"]:
        assert f"| {stage['name']} |" in body
