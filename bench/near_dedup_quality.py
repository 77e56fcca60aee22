"""near_dedup against exhaustive ground truth: recall and precision over every pair of a sample, not just planted ones.

The truth is the exact Jaccard of every pair of documents' shingle sets
(a sparse document x shingle matrix times its transpose), so natural
near-duplicates count (JDK and npm files that share most of their text),
not only the sample builder's planted pairs. Documents are the sample after
exact dedup (one copy per identical content), as the stage sees them.

Per configuration it prints:

* pair recall: true pairs (J >= threshold) whose documents end in one cluster;
* removed, and the ideal count (collapsing each component of the true J >= threshold graph to one document);
* removed documents with J >= 0.6 to some other member of their cluster (a real near-duplicate),
  and with J >= threshold to their ``duplicate_of``;
* removed documents with no true partner at all (J < threshold to everything: an LSH false positive kept
  by chaining or a hash accident).

    python -m bench.near_dedup_quality [--sample DIR | --size-mb 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from dedup.minhash import MinHashParams, shingle_keys, token_hashes
from pipeline.sample import read_sample_docs
from pipeline.stages.base import StageContext
from pipeline.stages.near_dedup import NearDedupConfig, build

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "dedup-alt": {"ngram": 5, "threshold": 0.7},
    "dedup-alt + cluster_check": {"ngram": 5, "threshold": 0.7, "cluster_check": True},
    "dedup-alt + verify": {"ngram": 5, "threshold": 0.7, "verify": True},
    "stack-v1": {"ngram": 1, "threshold": 0.85, "verify": True},
}


def true_similarities(
    docs: list[dict], ngram: int, min_tokens: int, floor: float
) -> dict[tuple[str, str], float]:
    """(a, b) with a < b -> exact Jaccard, for every pair at or above ``floor`` (MinHashed documents only)."""
    seed = MinHashParams().seed
    ids, key_sets = [], []
    for doc in docs:
        hashes = token_hashes(doc["content"], seed)
        if len(hashes) >= min_tokens:
            keys = shingle_keys(hashes, ngram)
            if len(keys):
                ids.append(doc["id"])
                key_sets.append(keys)
    _, columns = np.unique(np.concatenate(key_sets), return_inverse=True)
    rows = np.repeat(np.arange(len(ids)), [len(k) for k in key_sets])
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, columns)))
    shared = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    sizes = np.array([len(k) for k in key_sets])
    jaccard = shared.data / (sizes[shared.row] + sizes[shared.col] - shared.data)
    keep = jaccard >= floor
    return {
        (ids[a], ids[b]): float(j)
        for a, b, j in zip(shared.row[keep], shared.col[keep], jaccard[keep], strict=True)
    }


def run_configs(docs: list[dict]) -> dict[str, dict[str, str]]:
    """name -> {removed id: duplicate_of}, every configuration in one in-process pipeline."""
    import tempfile

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    outdir = Path(tempfile.mkdtemp(prefix="near_quality_"))
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(flags=[], direct_num_workers=1))
    with pipeline:
        source = pipeline | beam.Create(docs, reshuffle=False)
        for i, (name, overrides) in enumerate(CONFIGS.items()):
            out = source | f"Stage {name}" >> build(
                NearDedupConfig(enabled=True, **overrides), StageContext()
            )
            _ = (
                out["removed"]
                | f"Json {name}" >> beam.Map(lambda row: json.dumps([row["id"], json.loads(row["detail"])]))
                | f"Write {name}" >> beam.io.WriteToText(str(outdir / f"config{i}"))
            )
    runs = {}
    for i, name in enumerate(CONFIGS):
        lines = [line for path in outdir.glob(f"config{i}-*") for line in path.read_text().splitlines()]
        runs[name] = {doc: detail["duplicate_of"] for doc, detail in map(json.loads, lines)}
    return runs


def score(removed: dict[str, str], similar: dict[tuple[str, str], float], threshold: float) -> dict:
    def sim(a: str, b: str) -> float:
        return similar.get((a, b) if a < b else (b, a), 0.0)

    def root(x: str) -> str:
        return removed.get(x, x)

    true_pairs = [pair for pair, j in similar.items() if j >= threshold]
    found = sum(root(a) == root(b) for a, b in true_pairs)
    nodes = sorted({x for pair in true_pairs for x in pair})
    index = {x: i for i, x in enumerate(nodes)}
    graph = sparse.coo_matrix(
        (np.ones(len(true_pairs)), ([index[a] for a, _ in true_pairs], [index[b] for _, b in true_pairs])),
        shape=(len(nodes), len(nodes)),
    )
    components = connected_components(graph, directed=False)[0] if nodes else 0
    members: dict[str, set[str]] = defaultdict(set)
    for doc, kept in removed.items():
        members[kept] |= {doc, kept}
    partnered = {x for pair in true_pairs for x in pair}
    return {
        "true_pairs": len(true_pairs),
        "pair_recall": found / len(true_pairs) if true_pairs else 1.0,
        "removed": len(removed),
        "ideal_removed": len(nodes) - components,
        "real": sum(any(sim(d, o) >= 0.6 for o in members[k] - {d}) for d, k in removed.items()),
        "like_kept": sum(sim(d, k) >= threshold for d, k in removed.items()),
        "no_partner": sum(d not in partnered for d in removed),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=None, help="a pipeline.sample output dir")
    parser.add_argument(
        "--size-mb", type=float, default=20.0, help="build a sample this big when --sample is absent"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sample = args.sample
    if sample is None:
        sample = ROOT / ".cache" / "bench" / f"near_quality_{args.size_mb:g}mb_seed{args.seed}"
        if not (sample / "truth.json").exists():
            cmd = [sys.executable, "-m", "pipeline.sample", "--output", str(sample)]
            subprocess.run(cmd + ["--size-mb", str(args.size_mb), "--seed", str(args.seed)], check=True)
    docs = read_sample_docs(sample)
    mb = sum(len(d["content"].encode("utf-8", "surrogatepass")) for d in docs) / 1e6
    print(f"{sample}: {len(docs)} documents after exact dedup, {mb:.1f} MB")
    runs = run_configs(docs)
    truths: dict[int, dict] = {}
    header = f"{'config':<26} {'true pairs':>10} {'pair recall':>11} {'removed':>8} {'ideal':>6} "
    print(header + f"{'J>=0.6 in cluster':>18} {'J>=t to kept':>13} {'no partner':>11}")
    for name, overrides in CONFIGS.items():
        config = NearDedupConfig(enabled=True, **overrides)
        if config.ngram not in truths:
            truths[config.ngram] = true_similarities(docs, config.ngram, config.min_tokens, floor=0.5)
        s = score(runs[name], truths[config.ngram], config.threshold)
        removed = max(s["removed"], 1)
        print(
            f"{name:<26} {s['true_pairs']:>10} {s['pair_recall']:>11.3f} {s['removed']:>8} {s['ideal_removed']:>6} "
            f"{s['real'] / removed:>18.3f} {s['like_kept'] / removed:>13.3f} {s['no_partner']:>11}"
        )


if __name__ == "__main__":
    main()
