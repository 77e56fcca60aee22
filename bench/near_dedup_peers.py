"""Peer near-dedups run on the same documents as ours: datasketch the bigcode way, and datatrove's MinHash dedup.

Each returns ``{removed id: duplicate_of}`` (the document its cluster kept)
and the CPU seconds it took, so ``bench.near_dedup_quality`` scores them with
the same exact-Jaccard yardstick as our stage.

* ``datasketch_bigcode``: bigcode-dataset's MinHash script shape: tokens split
  on ``[^A-Za-z_0-9]`` (empties dropped), word 5-gram shingles, ``datasketch``
  ``MinHash`` (256 permutations, SHA-1) and ``MinHashLSH(threshold=0.7)``
  (datasketch picks 25 bands x 10 rows), every document queried against the
  index and unioned with its candidates (union-find), the smallest id of a
  cluster kept. Documents with fewer than 10 tokens are left alone, as ours.
* ``datatrove``: the library's own four steps, run in-process
  (``MinhashDedupSignature`` -> ``MinhashDedupBuckets`` -> ``MinhashDedupCluster``
  with cluster ids): word 5-grams of its normalised text (lower case,
  punctuation and digits folded, its English word tokenizer), 25 buckets x 10
  hashes, 64-bit hashes. Its default ``xxhash`` hash function fails with the
  installed xxhash 4 (``TypeError: Strings must be encoded before hashing``),
  so the run uses its other built-in, ``sha1``; nothing else is changed.
  Its union-find keeps the root of each set (union by size), not a ranked document.

Datatrove is slow here (~0.2 MB/CPU-s, its spaCy tokenizer), so results are
cached under ``.cache/bench/`` by corpus digest; ``--refresh`` reruns.

    python -m bench.near_dedup_peers --peer datatrove [--corpus DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import struct
import tempfile
from pathlib import Path

import numpy as np

NON_ALPHA = re.compile(r"[^A-Za-z_0-9]")
ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def datasketch_bigcode(
    docs: list[dict], num_perm: int = 256, ngram: int = 5, threshold: float = 0.7, min_tokens: int = 10
) -> tuple[dict[str, str], float]:
    from datasketch import MinHash, MinHashLSH

    start = cpu_seconds()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashed: list[tuple[int, MinHash]] = []
    for index, doc in enumerate(docs):
        tokens = [t for t in NON_ALPHA.split(doc["content"]) if t]
        if len(tokens) < max(min_tokens, ngram):
            continue
        sketch = MinHash(num_perm=num_perm)
        sketch.update_batch(
            {" ".join(tokens[i : i + ngram]).encode() for i in range(len(tokens) - ngram + 1)}
        )
        lsh.insert(index, sketch)
        hashed.append((index, sketch))
    parent = list(range(len(docs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for index, sketch in hashed:
        for other in lsh.query(sketch):
            a, b = find(index), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the smallest index (docs are in id order) is the root
    removed = {docs[i]["id"]: docs[find(i)]["id"] for i in range(len(docs)) if find(i) != i}
    return removed, cpu_seconds() - start


def datatrove_minhash(
    docs: list[dict], num_buckets: int = 25, hashes_per_bucket: int = 10, ngram: int = 5
) -> tuple[dict[str, str], float]:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(
        n_grams=ngram,
        num_buckets=num_buckets,
        hashes_per_bucket=hashes_per_bucket,
        hash_config=HashConfig(precision=64, hash_fc="sha1"),
    )
    work = Path(tempfile.mkdtemp(prefix="datatrove_minhash_"))
    start = cpu_seconds()
    MinhashDedupSignature(output_folder=str(work / "sigs"), config=config).run(
        (Document(text=d["content"], id=d["id"]) for d in docs), rank=0, world_size=1
    )
    buckets = MinhashDedupBuckets(
        input_folder=str(work / "sigs"), output_folder=str(work / "dups"), config=config
    )
    for rank in range(num_buckets):
        buckets.run(rank=rank, world_size=num_buckets)
    MinhashDedupCluster(
        input_folder=str(work / "dups"),
        output_folder=str(work / "remove"),
        config=config,
        save_cluster_id=True,
    ).run()
    cpu = cpu_seconds() - start
    remove_file, cluster_file = work / "remove" / "000000.remove", work / "remove" / "000000.clusters"
    gone = (
        set(np.frombuffer(remove_file.read_bytes(), dtype="<u4").tolist()) if remove_file.exists() else set()
    )
    pairs = struct.iter_unpack("<II", cluster_file.read_bytes()) if cluster_file.exists() else []
    members: dict[int, list[int]] = {}
    for doc, cluster in pairs:
        members.setdefault(cluster, []).append(doc)
    removed = {}
    for group in members.values():
        kept = [d for d in group if d not in gone]
        if len(kept) != 1:
            raise RuntimeError(f"datatrove cluster with {len(kept)} kept documents: {group[:5]}")
        removed.update({docs[d]["id"]: docs[kept[0]]["id"] for d in group if d in gone})
    return removed, cpu


PEERS = {"datasketch": datasketch_bigcode, "datatrove": datatrove_minhash}


def cached_peer(name: str, docs: list[dict], refresh: bool = False) -> tuple[dict[str, str], float]:
    """Run a peer once per document set (keyed by the ids and contents' digest) and cache it."""
    digest = hashlib.blake2b(digest_size=12)
    for doc in docs:
        digest.update(doc["id"].encode())
    path = ROOT / ".cache" / "bench" / f"near_peer_{name}_{len(docs)}_{digest.hexdigest()}.json"
    if path.exists() and not refresh:
        cached = json.loads(path.read_text())
        return cached["removed"], cached["cpu_s"]
    removed, cpu = PEERS[name](docs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cpu_s": cpu, "removed": removed}))
    return removed, cpu


def main(argv: list[str] | None = None) -> None:
    from bench.nd_corpus import CACHE, load_docs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--corpus", type=Path, default=CACHE / "corpus")
    parser.add_argument("--refresh", action="store_true")
    args = parser.parse_args(argv)
    docs = load_docs(args.corpus)
    removed, cpu = cached_peer(args.peer, docs, args.refresh)
    print(f"{args.peer}: {len(removed)} removed of {len(docs)} documents, {cpu:.1f} CPU s")


if __name__ == "__main__":
    main()
