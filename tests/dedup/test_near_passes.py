"""Two near-dedup passes with their own ledgers, the cluster-size guard, representatives, worker-count identity."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup.near import NearDedupParams, representative_removals
from pipeline.inputs import prepare
from pipeline.run import run
from pipeline.stages.near_dedup import NearDedupConfig
from samplegen.sample import SCHEMA
from tests.dedup.near_eval import run_stage
from tests.pipeline.helpers import file_bytes, input_ids, ledger, read_rows

PASSES = ["--preset", "santacoder", "--stages", "near_dedup,near_dedup_alt", "--no_report", "--quiet"]


def vocab_text(rng: random.Random, words: list[str], n: int) -> str:
    """``n`` tokens drawn from a small vocabulary: few distinct unigrams, ~n distinct 5-grams."""
    tokens = [rng.choice(words) for _ in range(n)]
    return "\n".join(" ".join(tokens[i : i + 12]) for i in range(0, n, 12)) + "\n"


def stack_row(name: str, text: str, stars: int) -> dict:
    return {
        "content": text,
        "max_stars_repo_name": f"owner/{name}",
        "max_stars_repo_path": f"src/{name}.py",
        "max_stars_count": stars,
        "lang": "Python",
        "size": len(text),
        "ext": "py",
    }


def two_pass_rows() -> list[dict]:
    """``a1``/``a2``: two swapped tokens (unigram J 1.0, 5-gram J ~0.95), stack-v1 near-dedup's catch;
    ``b1``/``b2``: b2 appends 30 new words (unigram J 40/70 = 0.57, 5-gram J ~0.95), only dedup-alt's;
    ``c0`` -> ``c3``: a chain, six of 60 lines new per step (5-gram J ~0.80 per step, c0~c2 ~0.63;
    unigram J ~0.82, under stack-v1's 0.85); six unrelated files."""
    rng = random.Random(5)
    a1 = vocab_text(rng, [f"alpha{i}" for i in range(40)], 600)
    tokens = a1.split(" ")
    tokens[100], tokens[400] = tokens[400], tokens[100]
    b1 = vocab_text(rng, [f"beta{i}" for i in range(40)], 600)
    rows = [stack_row("a1", a1, 10), stack_row("a2", " ".join(tokens), 1)]
    rows += [
        stack_row("b1", b1, 10),
        stack_row("b2", b1 + " ".join(f"fresh{i}" for i in range(30)) + "\n", 1),
    ]
    lines = [" ".join(f"t{rng.randrange(10**9)}" for _ in range(6)) for _ in range(60)]
    for step in range(4):
        for line in range(step * 12, step * 12 + 6) if step else ():
            lines[line] = " ".join(f"n{rng.randrange(10**9)}" for _ in range(6))
        rows.append(stack_row(f"c{step}", "\n".join(lines) + "\n", 5 - step))
    rows += [stack_row(f"o{k}", vocab_text(rng, [f"w{k}x{i}" for i in range(40)], 300), 1) for k in range(6)]
    return rows


def write_input(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), folder / "part-00000.parquet")
    return folder


@pytest.fixture(scope="module")
def two_passes(tmp_path_factory) -> tuple[Path, dict[str, str], list[Path]]:
    """santacoder's two near-dedup passes on ``two_pass_rows``, the second with stackcurate's checks
    (verify, representatives), on 1 worker and on 2 threads."""
    tmp = tmp_path_factory.mktemp("two_passes")
    rows = two_pass_rows()
    ids = {row["max_stars_repo_path"][4:-3]: prepare(dict(row))["id"] for row in rows}
    inp = write_input(tmp / "in", rows)
    overlay = tmp / "nd.yaml"
    overlay.write_text(
        "stages:\n  near_dedup_alt: {num_perm: 128, bands: 32, rows: 4, verify: true, cluster_check: true,"
        " representatives: true, max_cluster_size: 1000}\n"
    )
    outs = []
    for workers, mode in ((1, []), (2, ["--direct_running_mode", "multi_threading"])):
        out = tmp / f"out{workers}"
        args = ["--input", str(inp), "--output", str(out), *PASSES, "--config", str(overlay)]
        run([*args, "--direct_num_workers", str(workers), *mode])
        outs.append(out)
    return inp, ids, outs


def test_two_near_dedup_passes_have_their_own_ledger_and_stats(two_passes):
    inp, ids, (out, _) = two_passes
    first, second = ledger(out, "near_dedup"), ledger(out, "near_dedup_alt")
    assert [(r["id"], r["detail"]["duplicate_of"], r["detail"]["ngram"]) for r in first] == [
        (ids["a2"], ids["a1"], 1)
    ]
    # c2 is under 0.7 to the kept c0, so it becomes a representative and c3 is removed as its duplicate
    assert sorted((r["id"], r["detail"]["duplicate_of"], r["detail"]["ngram"]) for r in second) == sorted(
        [(ids["b2"], ids["b1"], 5), (ids["c1"], ids["c0"], 5), (ids["c3"], ids["c2"], 5)]
    )
    assert {r["stage"] for r in first} == {"near_dedup"} and {r["stage"] for r in second} == {
        "near_dedup_alt"
    }
    stats = json.loads((out / "stats.json").read_text())
    stages = {s["name"]: s["langs"]["python"] for s in stats["stages"]}
    assert list(stages) == ["validate", "near_dedup", "near_dedup_alt"]
    assert (stages["near_dedup"]["docs_in"], stages["near_dedup"]["docs_out"]) == (14, 13)
    assert (stages["near_dedup_alt"]["docs_in"], stages["near_dedup_alt"]["docs_out"]) == (13, 10)
    assert stages["near_dedup_alt"]["removed"]["near_duplicate"]["docs"] == 3
    kept = [r["id"] for r in read_rows(out / "data", ["id"])]
    assert sorted(kept + [r["id"] for r in first + second]) == sorted(input_ids(inp))


def test_same_bytes_on_one_and_two_workers(two_passes):
    _, _, (one, two) = two_passes
    assert file_bytes(one) == file_bytes(two)

    def counts(out: Path) -> list[dict]:
        return [{**s, "cpu_s": None} for s in json.loads((out / "stats.json").read_text())["stages"]]

    assert counts(one) == counts(two)


def chain_keys() -> dict[str, np.ndarray]:
    """a~b (J 0.82), b~c (J 0.82), a~c (J 0.67); d~c (J 0.82) only; e alone."""
    base = np.arange(1, 2001, 2, dtype=np.uint64)  # 1000 odd keys
    new = iter(np.arange(10_001, 20_001, 2, dtype=np.uint64).reshape(-1, 100))
    n1, n2, n3 = next(new), next(new), next(new)
    a = base
    b = np.sort(np.concatenate([base[100:], n1]))
    c = np.sort(np.concatenate([base[200:], n1, n2]))
    d = np.sort(np.concatenate([base[300:], n1, n2, n3]))
    e = np.arange(50_001, 52_001, 2, dtype=np.uint64)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def test_representatives_remove_against_the_first_similar_representative():
    keys = chain_keys()
    members = [
        ((-stars, name), name, f"tag-{name}", keys[name])
        for name, stars in zip("abcde", (9, 5, 4, 3, 1), strict=True)
    ]
    removed = {node: (tag, detail) for node, tag, detail in representative_removals(members, 0.7)}
    # a is kept; b is a's duplicate; c is under 0.7 to a and becomes a representative; d is c's duplicate
    assert {n: d["duplicate_of"] for n, (_, d) in removed.items()} == {"b": "a", "d": "c"}
    assert removed["b"][0] == "tag-b" and removed["d"][1]["cluster_size"] == 5
    assert all(detail["jaccard_to_kept"] >= 0.7 for _, detail in removed.values())
    with pytest.raises(ValueError, match="representatives needs cluster_check"):
        NearDedupParams(representatives=True)


def chain_docs() -> list[dict]:
    """Five documents of one component: a -> b -> c -> d, one 6-token line changed per step."""
    rng = random.Random(3)
    lines = [" ".join(f"t{rng.randrange(10**9)}" for _ in range(6)) for _ in range(60)]
    docs = []
    for step, name in enumerate("abcd"):
        if step:
            lines[step * 7] = " ".join(f"n{rng.randrange(10**9)}" for _ in range(6))
            lines[step * 7 + 1] = " ".join(f"n{rng.randrange(10**9)}" for _ in range(6))
        docs.append({"id": f"{name}" * 4, "content": "\n".join(lines), "max_stars_count": 5 - step})
    return [
        {**d, "max_stars_repo_name": "o/r", "max_stars_repo_path": f"{d['id']}.py", "lang": "python"}
        for d in docs
    ]


def test_cluster_size_limit_fails_or_warns():
    docs = chain_docs()
    loose = {"threshold": 0.5, "bands": 64, "rows": 4, "num_perm": 256}
    with pytest.raises(Exception, match=r"cluster of 4 documents \(kept aaaa\) exceeds max_cluster_size=3"):
        run_stage(docs, {"fail": NearDedupConfig(enabled=True, max_cluster_size=3, **loose)})
    out = run_stage(
        docs,
        {
            "warn": NearDedupConfig(enabled=True, max_cluster_size=3, on_large_cluster="warn", **loose),
            "roomy": NearDedupConfig(enabled=True, max_cluster_size=4, **loose),
        },
    )
    for name in ("warn", "roomy"):
        assert sorted(r["id"] for r in out[name]["removed"]) == ["bbbb", "cccc", "dddd"]
        assert {json.loads(r["detail"])["cluster_size"] for r in out[name]["removed"]} == {4}


def test_stats_and_report_show_the_largest_clusters(two_passes):
    from release.report import largest_clusters, render_report

    _, ids, (out, _) = two_passes
    assert largest_clusters(out) == [
        ("near_dedup_alt", 4, ids["c0"], min(ids["c1"], ids["c3"])),
        ("near_dedup", 2, ids["a1"], ids["a2"]),
        ("near_dedup_alt", 2, ids["b1"], ids["b2"]),
    ]
    stats = {s["name"]: s for s in json.loads((out / "stats.json").read_text())["stages"]}
    assert stats["near_dedup_alt"]["largest_clusters"] == [
        {"size": 4, "kept": ids["c0"], "member": min(ids["c1"], ids["c3"])},
        {"size": 2, "kept": ids["b1"], "member": ids["b2"]},
    ]
    assert stats["near_dedup"]["largest_clusters"] == [{"size": 2, "kept": ids["a1"], "member": ids["a2"]}]
    assert "largest_clusters" not in stats["validate"]
    page = render_report(out)
    assert "Largest near-duplicate clusters" in page and f"<td>{ids['c0']}</td>" in page


def test_presets_run_stack_v1_then_a_second_pass():
    from ablation.ablate import VARIANT_STAGE
    from pipeline.config import resolve

    for preset in ("santacoder", "stack-base+dedup-alt", "stackcurate"):
        cfg = resolve(preset)
        assert cfg.enabled.index("near_dedup_alt") == cfg.enabled.index("near_dedup") + 1, preset
        assert (cfg.stages["near_dedup"].ngram, cfg.stages["near_dedup"].threshold) == (1, 0.85)
        assert (cfg.stages["near_dedup_alt"].ngram, cfg.stages["near_dedup_alt"].threshold) == (5, 0.7)
    assert "near_dedup_alt" not in resolve("stack-base").enabled
    assert VARIANT_STAGE["+dedup-alt"] == "near_dedup_alt"
    tuned = resolve("stackcurate").stages["near_dedup_alt"]
    assert (tuned.verify, tuned.cluster_check, tuned.representatives) == (True, True, True)
    assert resolve("santacoder").stages["near_dedup_alt"].verify is False
