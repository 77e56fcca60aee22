"""The near_dedup stage in Beam: keep rule, ledger, short docs, verify, cluster_check, determinism, the sample."""

from __future__ import annotations

import json
import random

import pytest
from pydantic import ValidationError

from dedup.minhash import jaccard
from pipeline.stages import load_spec
from pipeline.stages.near_dedup import NearDedupConfig
from samplegen.cases import shingles as shingle_set
from samplegen.sample import read_sample_docs
from tests.dedup.near_eval import clusters_of, run_stage

SEGMENT_TOKENS = 60


def segment(rng: random.Random) -> str:
    return " ".join(f"w{rng.randrange(10**9)}" for _ in range(SEGMENT_TOKENS)) + "\n"


def doc(doc_id: str, segments: list[str], stars: int | None) -> dict:
    return {
        "id": doc_id,
        "content": "".join(segments),
        "max_stars_count": stars,
        "max_stars_repo_name": f"owner/{doc_id[:4]}",
        "max_stars_repo_path": f"src/{doc_id}.py",
        "lang": "python",
        "size": 0,
    }


def planted_docs() -> list[dict]:
    """Ten-segment documents; replacing s of the 10 segments gives 5-gram Jaccard ~ (10 - s) / (10 + s).

    * ``trio``: three copies, one segment apart (J ~ 0.82), stars None / 5 / 5;
    * ``chain``: A -> B -> C, one new segment per step: J(A,B) = J(B,C) ~ 0.82, J(A,C) ~ 0.67;
    * ``loose``: a pair three segments apart (J ~ 0.54): only a candidate with loose bands;
    * 40 short files (< 10 tokens), 20 of them identical, and 5 unrelated documents.
    """
    rng = random.Random(11)
    base = [segment(rng) for _ in range(10)]
    docs = [
        doc("aaaa000000000000trio", base, None),
        doc("bbbb000000000000trio", base[:9] + [segment(rng)], 5),
        doc("cccc000000000000trio", [segment(rng)] + base[1:], 5),
    ]
    chain_a = [segment(rng) for _ in range(10)]
    chain_b = chain_a[:9] + [segment(rng)]
    chain_c = chain_b[:8] + [segment(rng)] + chain_b[9:]
    docs += [doc("dddd00000000chain0a", chain_a, 100), doc("0000000000000chainb", chain_b, 2)]
    docs += [doc("ffff00000000chain0c", chain_c, 1)]
    loose = [segment(rng) for _ in range(10)]
    docs += [
        doc("eeee00000000loose0a", loose, 3),
        doc("eeee00000000loose0b", loose[:7] + [segment(rng) for _ in range(3)], 3),
    ]
    docs += [doc(f"short{i:015d}", "x = 1\n" if i < 20 else f"y = {i}\n", None) for i in range(40)]
    docs += [doc(f"solo{i:016d}", [segment(rng) for _ in range(10)], i) for i in range(5)]
    return docs


LOOSE = {"bands": 64, "rows": 4}  # P(candidate) ~ 1 for J >= 0.5


@pytest.fixture(scope="module")
def planted_runs() -> dict:
    configs = {
        "plain": NearDedupConfig(enabled=True, **LOOSE),
        "verify": NearDedupConfig(enabled=True, verify=True, **LOOSE),
        "check": NearDedupConfig(enabled=True, cluster_check=True, **LOOSE),
    }
    return {"docs": planted_docs(), **run_stage(planted_docs(), configs)}


def removed_by_id(run: dict) -> dict[str, dict]:
    return {row["id"]: {**row, "detail": json.loads(row["detail"])} for row in run["removed"]}


def test_keep_rule_and_ledger_rows(planted_runs: dict) -> None:
    run, docs = planted_runs["plain"], planted_runs["docs"]
    removed = removed_by_id(run)
    # trio: most stars (5, 5) then smallest id -> bbbb kept; chain: A has 100 stars
    # loose pair: equal stars -> smaller id kept
    assert {i: r["detail"]["duplicate_of"] for i, r in removed.items()} == {
        "aaaa000000000000trio": "bbbb000000000000trio",
        "cccc000000000000trio": "bbbb000000000000trio",
        "0000000000000chainb": "dddd00000000chain0a",
        "ffff00000000chain0c": "dddd00000000chain0a",
        "eeee00000000loose0b": "eeee00000000loose0a",
    }
    assert [removed[i]["detail"]["cluster_size"] for i in sorted(removed)] == [3, 3, 3, 2, 3]
    row = removed["aaaa000000000000trio"]
    assert (row["stage"], row["reason"], row["repo"], row["path"], row["lang"]) == (
        "near_dedup",
        "near_duplicate",
        "owner/aaaa",
        "src/aaaa000000000000trio.py",
        "python",
    )
    assert row["size"] == len(docs[0]["content"]) and row["detail"]["threshold"] == 0.7
    # nothing else removed, kept documents unchanged, docs in = kept + removed
    assert len(run["kept"]) + len(run["removed"]) == len(docs)
    by_id = {d["id"]: d for d in docs}
    assert all(kept == by_id[kept["id"]] for kept in run["kept"])


def test_short_documents_are_never_merged(planted_runs: dict) -> None:
    kept = {d["id"] for d in planted_runs["plain"]["kept"]}
    assert {f"short{i:015d}" for i in range(40)} <= kept


def test_verify_drops_candidate_edges_under_the_threshold(planted_runs: dict) -> None:
    docs = {d["id"]: d["content"] for d in planted_runs["docs"]}
    loose = jaccard(shingle_set(docs["eeee00000000loose0a"], 5), shingle_set(docs["eeee00000000loose0b"], 5))
    assert 0.45 < loose < 0.6
    removed = removed_by_id(planted_runs["verify"])
    assert "eeee00000000loose0b" not in removed  # J ~ 0.54 < 0.7: the edge is dropped
    # the chain survives verification (each step ~ 0.82), so C is still removed for A
    assert removed["ffff00000000chain0c"]["detail"]["duplicate_of"] == "dddd00000000chain0a"
    assert len(removed) == 4


def test_cluster_check_spares_members_unlike_the_kept_document(planted_runs: dict) -> None:
    docs = {d["id"]: d["content"] for d in planted_runs["docs"]}
    a_c = jaccard(shingle_set(docs["dddd00000000chain0a"], 5), shingle_set(docs["ffff00000000chain0c"], 5))
    assert a_c < 0.7
    removed = removed_by_id(planted_runs["check"])
    assert "ffff00000000chain0c" not in removed and "eeee00000000loose0b" not in removed
    # trio: bbbb (kept) and cccc differ in two segments (J ~ 0.67): cccc is spared too
    assert set(removed) == {"aaaa000000000000trio", "0000000000000chainb"}
    assert all(r["detail"]["jaccard_to_kept"] >= 0.7 for r in removed.values())


def test_same_output_on_two_workers_and_the_portable_runner(planted_runs: dict) -> None:
    config = {"plain": NearDedupConfig(enabled=True, **LOOSE)}
    reference = planted_runs["plain"]
    for run in (
        run_stage(planted_docs(), config, workers=2)["plain"],
        run_stage(planted_docs(), config, portable=True)["plain"],
    ):
        assert sorted(run["removed"], key=lambda r: r["id"]) == sorted(
            reference["removed"], key=lambda r: r["id"]
        )
        assert sorted(d["id"] for d in run["kept"]) == sorted(d["id"] for d in reference["kept"])


def test_config_defaults_and_validation() -> None:
    spec = load_spec("near_dedup")
    config = spec.config()
    assert (config.ngram, config.num_perm, config.threshold, config.verify, config.min_tokens) == (
        5,
        256,
        0.7,
        False,
        10,
    )
    assert (config.params().bands, config.params().rows) == (25, 10)
    stack_v1 = spec.config(enabled=True, ngram=1, num_perm=256, threshold=0.85, verify=True)
    assert (stack_v1.params().bands, stack_v1.params().rows) == (13, 19)
    with pytest.raises(ValidationError):
        spec.config(bands=30)
    with pytest.raises(ValidationError):
        spec.config(bands=30, rows=10)
    with pytest.raises(ValidationError):
        spec.config(shingle_size=5)


def test_on_the_sample_recall_and_precision(sample_dir, truth) -> None:
    docs = read_sample_docs(sample_dir)
    configs = {
        "off": NearDedupConfig(enabled=True),
        "on": NearDedupConfig(enabled=True, cluster_check=True),
    }
    runs = run_stage(docs, configs)
    content = {d["id"]: d["content"] for d in docs}
    shingles: dict[str, set] = {}

    def sim(a: str, b: str) -> float:
        for x in (a, b):
            if x not in shingles:
                shingles[x] = shingle_set(content[x], 5)
        return jaccard(shingles[a], shingles[b])

    planted = [p for p in truth["near_dup"] if p["jaccard5"] >= 0.7]
    for name, run in runs.items():
        root = {row["id"]: json.loads(row["detail"])["duplicate_of"] for row in run["removed"]}
        found = [p for p in planted if root.get(p["a"], p["a"]) == root.get(p["b"], p["b"])]
        clusters = clusters_of(run["removed"])
        real = [r for r in root if any(sim(r, o) >= 0.6 for o in clusters[root[r]] - {r})]
        like_kept = [r for r in root if sim(r, root[r]) >= 0.7]
        print(
            f"\n[{name}] recall {len(found)}/{len(planted)}, removed {len(root)}, real near-dups {len(real)}, "
            f"J5 >= 0.7 to duplicate_of {len(like_kept)}/{len(root)}"
        )
        assert len(found) / len(planted) >= 0.95
        assert len(real) >= 0.98 * len(root) and len(root) >= len(found)
        assert len(run["kept"]) + len(run["removed"]) == len(docs)
    assert len(runs["on"]["removed"]) <= len(runs["off"]["removed"])
