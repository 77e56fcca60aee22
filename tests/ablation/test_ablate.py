"""The ablation end to end on a small sample (2 variants x 2 seeds, tiny model), plus its pure helpers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ablation.ablate import HEADLINE_METRICS, is_heldout, main, noise_verdict, preset_of, summarize

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_heldout_split_is_by_repo_and_near_fraction():
    repos = [f"owner{i}/repo{i}" for i in range(4000)]
    held = [r for r in repos if is_heldout(r, 0.1)]
    assert held == [r for r in repos if is_heldout(r, 0.1)]  # deterministic
    assert 0.085 < len(held) / len(repos) < 0.115


def test_presets_and_noise_rule():
    assert preset_of("base") == "stack-base" and preset_of("+stars") == "stack-base+stars"
    with pytest.raises(ValueError):
        preset_of("stars")
    summary = summarize({"base": [{"m": 1.0}, {"m": 1.2}], "+x": [{"m": 1.1}, {"m": 1.3}]})
    assert summary["base"]["m"][0] == pytest.approx(1.1) and summary["base"]["m"][1] == pytest.approx(
        0.1414, rel=1e-3
    )
    assert noise_verdict(summary["base"]["m"], summary["+x"]["m"]) == "within noise"
    assert noise_verdict((1.0, 0.01, 3), (1.5, 0.01, 3)) == "beyond noise"
    assert noise_verdict((1.0, 0.0, 1), (1.5, 0.0, 1)) == "one seed: noise unknown"
    assert noise_verdict((0.0, 0.0, 3), (0.0, 0.0, 3)) == "within noise"  # no difference at all


def _stars(row: dict) -> int:
    return int(row["max_stars_count"] or 0)


@pytest.mark.timeout(900)
def test_ablation_end_to_end(tmp_path):
    import torch

    from samplegen.sample import build_sample

    sample = build_sample(tmp_path / "sample", size_mb=0.3, seed=0)
    light = tmp_path / "light.yaml"  # the slow stages off: this test is about the ablation, not the filters
    light.write_text(
        "stages:\n  near_dedup: {enabled: false}\n  pii: {enabled: false}\n  decontam: {enabled: false}\n"
    )
    out = tmp_path / "ablation"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = main(
            [
                "--input",
                str(sample),
                "--output",
                str(out),
                "--variants",
                "base,+stars",
                "--size",
                "tiny",
                "--seeds",
                "2",
                "--tokens",
                str(6 * 64 * 4),
                "--seq-len",
                "64",
                "--batch-size",
                "4",
                "--vocab-size",
                "400",
                "--heldout-fraction",
                "0.2",
                "--benchmarks_dir",
                str(SHARED / "benchmarks"),
                "--optout_list",
                str(SHARED / "optout" / "optouts.jsonl"),
                "--pipeline-config",
                str(light),
                "--pipeline-args",
                "--direct_num_workers=1 --direct_running_mode=in_memory",
                "--max-doc-tokens",
                "128",
                "--max-tasks",
                "3",
                "--fim-lines",
                "2",
                "--device",
                "cpu",
            ]
        )
    finally:
        torch.set_num_threads(threads)

    # held-out repositories never reach training data
    train_rows = [
        r
        for f in (out / "variants" / "base" / "data").rglob("*.parquet")
        for r in pq.read_table(f).to_pylist()
    ]
    held_rows = [
        r for f in (out / "heldout" / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist()
    ]
    assert held_rows and train_rows
    assert not {r["max_stars_repo_name"] for r in train_rows} & {r["max_stars_repo_name"] for r in held_rows}
    assert all(is_heldout(r["max_stars_repo_name"], 0.2) for r in held_rows)

    # +stars removed exactly the base output's documents under 5 stars
    expected_removed = [r for r in train_rows if _stars(r) < 5]
    filtered = report["data"]["+stars"]["filter_removed"]
    assert filtered["docs"] == len(expected_removed) > 0
    assert filtered["bytes"] == sum(len(r["content"].encode()) for r in expected_removed)
    assert report["data"]["+stars"]["docs_out"] == len(train_rows) - len(expected_removed)

    # one shared tokenizer, two seeds per variant, every metric, seeds really differ
    assert (out / "tokenizer" / "tokenizer.json").is_file()
    for variant in ("base", "+stars"):
        runs = report["runs"][variant]
        assert len(runs) == 2
        for metrics in runs:
            assert {"bpb/all", "humaneval/loss", "mbpp/loss", "fim/exact_match", "train/final_loss"} <= set(
                metrics
            )
        assert runs[0]["bpb/all"] != runs[1]["bpb/all"]
        saved = json.loads((out / "models" / variant / "seed1" / "metrics.json").read_text())
        assert saved["bpb/all"] == runs[1]["bpb/all"]

    text = (out / "ablation.md").read_text()
    assert "| +stars |" in text and "differences are within seed noise" in text
    assert f"| {len(expected_removed)} / " in text
    plot = ET.parse(out / "ablation.svg").getroot()
    texts = [t.text for t in plot.iter("{http://www.w3.org/2000/svg}text")]
    assert {"base", "+stars", "bpb/all", "fim/exact_match"} <= set(texts)
    bars = [r for r in plot.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill") == "#4c72b0"]
    drawn = [  # a bar per variant and metric, but none of height 0 (FIM exact match of a tiny model)
        (v, m) for v in ("base", "+stars") for m in HEADLINE_METRICS if any(r[m] for r in report["runs"][v])
    ]
    assert len(bars) == len(drawn) >= 6
