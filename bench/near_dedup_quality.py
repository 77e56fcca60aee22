"""near_dedup against exhaustive ground truth on real code with its natural near-duplicates.

Documents: the corpus of ``bench.nd_corpus`` (>= 150 MB of unscreened real
code: npm module families, JDK locale data, generated Java and Python) as the
stage sees it (after exact dedup and the basic filter), or ``--sample DIR``.

Truth: the exact Jaccard of word 5-gram sets (tokens split on
``[^A-Za-z_0-9]``, the stage's own hashing) of EVERY pair of documents at or
above 0.7, found exactly with prefix filtering (a pair with J >= t must share a
token among the first ``|x| - ceil(t |x|) + 1`` of each set in a global
rarest-first order) and then counted exactly; no pair is sampled.

Scores per configuration:

* recall at J >= 0.7 / 0.8: true pairs of which at most one document is left
  in the output (the duplication is gone);
* precision at 0.6 / 0.7: removals whose exact J with their ``duplicate_of``
  (the document their cluster kept) is at least 0.6 / 0.7;
* removed, the ideal count (every component of the true J >= 0.7 graph
  collapsed to one document) and the largest cluster;
* CPU seconds.

Three parts:

1. ``--sweep``: our stage's pure cores (``dedup.minhash`` signatures,
   ``dedup.lsh.band_keys`` / ``star_edges``, ``dedup.minhash.jaccard`` for
   ``verify`` and ``cluster_check``, ``dedup.components.components_in_memory``,
   ``dedup.exact.keep_rank``) in memory, the same steps as ``dedup.near``, over
   many (bands, rows, verify, cluster_check) settings: the recall / precision /
   cost curve.
2. The Beam stage itself (FnApiRunner, one worker) for ``santacoder`` and
   ``stackcurate``: its removals (checked equal to the in-memory cores') and
   its CPU seconds, a read-only run of the same input subtracted.
3. Peers (``bench.near_dedup_peers``): datasketch bigcode-style and datatrove.

    python -m bench.near_dedup_quality [--corpus DIR | --sample DIR] [--sweep] [--no-beam] [--no-peers]
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cli.command import CliParser
from dedup.lsh import band_keys, candidate_probability, star_edges

# The truth, the kernels and the stage's modules (numba, Beam) are imported where used: --help is instant.
if TYPE_CHECKING:
    from bench.near_truth import Shingled, Truth
    from dedup.near import NearDedupParams

# The Beam runs: what the presets set (the ``stackcurate`` row is the tuned recipe).
CHECKED = {"verify": True, "cluster_check": True, "representatives": True}
CONFIGS: dict[str, dict] = {
    "santacoder (dedup-alt)": {"ngram": 5, "threshold": 0.7},
    "stackcurate": {"ngram": 5, "threshold": 0.7, "num_perm": 130, "bands": 26, "rows": 5, **CHECKED},
}
# --candidates: other settings the Beam stage was timed with when stackcurate's were chosen.
CANDIDATES: dict[str, dict] = {
    "dedup-alt 25x10 + checks": {"ngram": 5, "threshold": 0.7, **CHECKED},
    "20x4 + checks": {"ngram": 5, "threshold": 0.7, "num_perm": 80, "bands": 20, "rows": 4, **CHECKED},
}
# (bands, rows) tried by --sweep, each with num_perm = bands x rows, plus the checks on/off.
BANDINGS = [
    (25, 10),
    (42, 6),
    (26, 5),
    (32, 5),
    (20, 4),
    (32, 4),
    (14, 3),
    (20, 3),
    (36, 7),
    (51, 5),
    (16, 4),
    (24, 4),
    (64, 4),
    (32, 8),
    (20, 5),
]
CHECKS = [(False, False, False), (True, False, False), (True, True, False), (True, True, True)]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def candidate_edges(sh: Shingled, signatures: np.ndarray, bands: int, rows: int) -> tuple[set, dict]:
    """Band keys per document, buckets, star edges (``Sketch`` -> ``GroupBuckets`` -> ``StarEdges``)."""
    start = cpu_seconds()
    hashed = np.flatnonzero(sh.hashed)
    buckets: dict[bytes, list[str]] = defaultdict(list)
    for i in hashed:
        for key in band_keys(signatures[i, : bands * rows], bands, rows):
            buckets[key].append(sh.ids[i])
    edges = {edge for members in buckets.values() for edge in star_edges(members)}
    costs = {
        "band_records": len(hashed) * bands,
        "candidate_edges": len(edges),
        "bands_s": cpu_seconds() - start,
    }
    return edges, costs


class PairSimilarity:
    """Exact Jaccard of two documents' shingle sets (``dedup.minhash.jaccard``), memoised across settings."""

    def __init__(self, sh: Shingled):
        from dedup.minhash import jaccard

        self._jaccard = jaccard
        self._keys, self._index, self._memo = sh.keys, sh.index, {}

    def __call__(self, a: str, b: str) -> float:
        pair = (a, b) if a < b else (b, a)
        if pair not in self._memo:
            self._memo[pair] = self._jaccard(self._keys[self._index[a]], self._keys[self._index[b]])
        return self._memo[pair]


def resolve(sh: Shingled, edges: set, p: NearDedupParams, similarity: PairSimilarity) -> tuple[dict, dict]:
    """``verify`` -> components -> keep rule -> ``cluster_check``, as ``NearVerdicts``: {removed id: detail}."""
    from dedup.components import components_in_memory
    from dedup.exact import keep_rank
    from dedup.near import representative_removals

    start = cpu_seconds()
    if p.verify:
        edges = {(a, b) for a, b in edges if similarity(a, b) >= p.threshold}
    costs = {"verified_edges": len(edges), "verify_s": cpu_seconds() - start}
    start = cpu_seconds()
    labels = components_in_memory(edges)
    clusters: dict[str, list[str]] = defaultdict(list)
    for node, root in labels.items():
        clusters[root].append(node)
    index = sh.index
    removed = {}
    for members in clusters.values():
        if p.representatives:
            ranked = [(keep_rank(sh.stars[index[m]], m), m, None, sh.keys[index[m]]) for m in members]
            removed.update({m: detail for m, _, detail in representative_removals(ranked, p.threshold)})
            continue
        kept = min(members, key=lambda m: keep_rank(sh.stars[index[m]], m))
        for member in members:
            if member == kept:
                continue
            detail = {"duplicate_of": kept, "cluster_size": len(members)}
            if p.cluster_check:
                j = similarity(member, kept)
                if j < p.threshold:
                    continue
                detail["jaccard_to_kept"] = round(j, 4)
            removed[member] = detail
    costs.update(components_s=cpu_seconds() - start)
    return removed, costs


def reference_removals(sh: Shingled, signatures: np.ndarray, p: NearDedupParams) -> tuple[dict, dict]:
    """{removed id: detail} by the steps of ``dedup.near.NearVerdicts``, in memory, and their costs."""
    edges, costs = candidate_edges(sh, signatures, p.bands, p.rows)
    removed, more = resolve(sh, edges, p, PairSimilarity(sh))
    return removed, {**costs, **more}


def sweep(sh: Shingled, truth: Truth, checks: list[tuple[bool, bool, bool]] = CHECKS) -> list[dict]:
    """Every banding x check setting through the in-memory cores: the curve for docs/near-dedup.md."""
    from bench.near_truth import SEED, score
    from dedup.minhash import MinHashParams, signatures_of_keys
    from dedup.near import NearDedupParams

    full = MinHashParams(5, 256, SEED)
    start = cpu_seconds()
    signatures = np.zeros((len(sh.ids), 256), dtype=np.uint32)
    rows = np.flatnonzero(sh.hashed)
    signatures[rows] = signatures_of_keys([sh.keys[i] for i in rows], full)
    sign_s = cpu_seconds() - start
    print(f"signatures (256 perms) of {len(rows)} documents: {sign_s:.1f} CPU s")
    results = []
    similarity = PairSimilarity(sh)
    for bands, rows_ in BANDINGS:
        edges, edge_costs = candidate_edges(sh, signatures, bands, rows_)
        for verify, check, reps in checks:
            p = NearDedupParams(
                num_perm=bands * rows_,
                bands=bands,
                rows=rows_,
                verify=verify,
                cluster_check=check,
                representatives=reps,
            )
            removed, costs = resolve(sh, edges, p, similarity)
            costs.update(edge_costs)
            s = score({d: v["duplicate_of"] for d, v in removed.items()}, truth)
            row = {
                "bands": bands,
                "rows": rows_,
                "verify": verify,
                "cluster_check": check,
                "representatives": reps,
                **s,
                **costs,
                "p_cand@0.7": float(candidate_probability(0.7, bands, rows_)),
                "sign_s": round(sign_s * bands * rows_ / 256, 2),
            }
            results.append(row)
            print(sweep_line(row), flush=True)
    return results


def sweep_line(r: dict) -> str:
    checks = ("verify" if r["verify"] else "") + ("+check" if r["cluster_check"] else "")
    checks += "+reps" if r["representatives"] else ""
    return (
        f"{r['bands']:>3}x{r['rows']:<2} {checks or 'none':<13} P(cand|0.7) {r['p_cand@0.7']:.3f}  "
        f"recall {r['recall@0.7']:.4f} {r['recall@0.8']:.4f} isolated {r['isolated_recall']:.3f}  precision {r['precision@0.6']:.4f} "
        f"{r['precision@0.7']:.4f}  removed {r['removed']:>6} largest {r['largest']:>5}  "
        f"band records {r['band_records']:>8} edges {r['candidate_edges']:>7} verified {r['verified_edges']:>7}  "
        f"cpu sign {r['sign_s']:.1f} bands {r['bands_s']:.1f} verify {r['verify_s']:.1f} cc {r['components_s']:.1f}"
    )


def beam_runs(docs: list[dict], configs: dict[str, dict], repeat: int = 1) -> dict[str, tuple[dict, float]]:
    """name -> ({removed id: detail}, stage CPU s): the stage in Beam, a read-only run subtracted."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from pipeline.graph import stage_transform
    from pipeline.stages.base import StageContext
    from pipeline.stages.near_dedup import SPEC, NearDedupConfig
    from tests.stage_runner import read_pieces

    work = Path(tempfile.mkdtemp(prefix="near_quality_"))
    runs = iter(range(10**6))

    def run(config: dict | None, out: Path | None) -> float:
        pipeline = beam.Pipeline(
            runner=FnApiRunner(), options=PipelineOptions(flags=[], direct_num_workers=1)
        )
        read, schema = read_pieces(pipeline, docs, work / f"parts-{next(runs)}")
        if config is None:
            _ = read | beam.combiners.Count.Globally()
        else:
            parts = read | stage_transform(
                SPEC, NearDedupConfig(enabled=True, **config), StageContext(), schema, False
            )
            _ = parts["kept"] | beam.combiners.Count.Globally()
            _ = (
                parts["removed"]
                | beam.Map(lambda row: json.dumps([row["id"], json.loads(row["detail"])]))
                | beam.io.WriteToText(str(out))
            )
        start = cpu_seconds()
        pipeline.run().wait_until_finish()
        return cpu_seconds() - start

    results: dict[str, tuple[dict, float]] = {}
    baseline = min(run(None, None) for _ in range(repeat))
    print(f"read-only run of {len(docs)} documents: {baseline:.1f} CPU s (subtracted)")
    for i, (name, config) in enumerate(configs.items()):
        cpu = min(run(config, work / f"config{i}") for _ in range(repeat))
        lines = [line for path in work.glob(f"config{i}-*") for line in path.read_text().splitlines()]
        results[name] = ({d: detail for d, detail in map(json.loads, lines)}, cpu - baseline)
    return results


def table_line(name: str, s: dict, cpu: float, base_cpu: float | None) -> str:
    ratio = f"{cpu / base_cpu:.2f}" if base_cpu else "-"
    return (
        f"| {name} | {s['recall@0.7']:.4f} | {s['recall@0.8']:.4f} | {s['isolated_recall']:.3f} | "
        f"{s['precision@0.6']:.4f} | "
        f"{s['precision@0.7']:.4f} | {s['removed']:,} | {s['largest']:,} | {cpu:.1f} | {ratio} |"
    )


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m bench.near_dedup_quality", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=None, help="a bench.nd_corpus output (default: its cache's corpus)"
    )
    parser.add_argument("--sample", type=Path, default=None, help="a samplegen.sample output dir instead")
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="all",
        choices=["all", "representatives"],
        help="the banding x checks curve through the in-memory cores (every check setting, or the last only)",
    )
    parser.add_argument("--no-beam", action="store_true", help="skip the Beam stage runs")
    parser.add_argument("--no-peers", action="store_true", help="skip datasketch and datatrove")
    parser.add_argument("--refresh-peers", action="store_true", help="rerun the peers instead of their cache")
    parser.add_argument("--candidates", action="store_true", help="time the CANDIDATES settings in Beam too")
    parser.add_argument("--repeat", type=int, default=1, help="Beam runs per config (least CPU kept)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from bench.nd_corpus import CACHE, load_docs
    from bench.near_dedup_peers import cached_peer
    from bench.near_truth import SEED, Truth, cached_truth, score, shingle
    from dedup.minhash import MinHashParams, signatures_of_keys
    from dedup.near import NearDedupParams

    if args.sample is not None:
        from samplegen.sample import read_sample_docs

        docs = read_sample_docs(args.sample)
    else:
        docs = load_docs(args.corpus or CACHE / "corpus")
    mb = sum(len(d["content"].encode("utf-8", "surrogatepass")) for d in docs) / 1e6
    start = time.perf_counter()
    sh = shingle(docs, 5)
    hashed = np.flatnonzero(sh.hashed)
    a, b, j = cached_truth(sh, hashed)
    truth = Truth(sh, hashed[a], hashed[b], j)
    print(
        f"{len(docs)} documents ({len(hashed)} with >= 10 tokens), {mb:.1f} MB; {len(j)} pairs with 5-gram "
        f"J >= 0.7, {(j >= 0.8).sum()} with J >= 0.8 (exact, {time.perf_counter() - start:.0f} s)"
    )
    report: dict = {"docs": len(docs), "mb": mb, "pairs@0.7": len(j), "rows": {}}
    if args.sweep:
        report["sweep"] = sweep(sh, truth, CHECKS[-1:] if args.sweep == "representatives" else CHECKS)
    print(
        "| run | recall J>=0.7 | recall J>=0.8 | isolated pairs | precision J>=0.6 | precision J>=0.7 | "
        "removed | largest cluster | CPU s | x santacoder |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base_cpu = None
    if not args.no_beam:
        full = MinHashParams(5, 256, SEED)
        signatures = np.zeros((len(sh.ids), 256), dtype=np.uint32)
        signatures[hashed] = signatures_of_keys([sh.keys[i] for i in hashed], full)
        configs = {**CONFIGS, **(CANDIDATES if args.candidates else {})}
        for name, (removed, cpu) in beam_runs(docs, configs, args.repeat).items():
            reference, _ = reference_removals(sh, signatures, NearDedupParams(**configs[name]))
            stripped = {
                d: {k: v for k, v in detail.items() if k not in ("ngram", "threshold")}
                for d, detail in removed.items()
            }
            if reference != stripped:
                raise AssertionError(f"{name}: the Beam stage and the in-memory cores disagree")
            s = score({d: v["duplicate_of"] for d, v in removed.items()}, truth)
            base_cpu = base_cpu or cpu
            report["rows"][name] = {**s, "cpu_s": cpu}
            print(table_line(name, s, cpu, base_cpu), flush=True)
    if not args.no_peers:
        for name in ("datasketch", "datatrove"):
            removed, cpu = cached_peer(name, docs, args.refresh_peers)
            s = score(removed, truth)
            report["rows"][name] = {**s, "cpu_s": cpu}
            print(table_line(name, s, cpu, base_cpu), flush=True)
    print(f"ideal removals (true J >= 0.7 components collapsed): {score({}, truth)['ideal']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
