"""MinHash signature throughput: ours vs datasketch ``MinHash.bulk`` and ``MinHash.update``, same docs and config.

Prints MB of source text per CPU-second (one core: our numba kernels and numpy
elementwise work are single-threaded) from text to 256-permutation signature,
shingling included for every contender, and the process's peak RSS. Documents: the Python standard library's ``.py`` files
(or ``--sample DIR`` with parquet files from ``samplegen.sample``).

    python -m bench.minhash [--mb 8] [--ngram 5] [--update-mb 0.5]
"""

from __future__ import annotations

import argparse
import re
import resource
import sysconfig
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

from dedup.minhash import MinHashParams, signatures, tokenize

SPLIT = re.compile(r"[^A-Za-z_0-9]")


def load_texts(mb: float, sample: str | None) -> list[str]:
    if sample:
        import pyarrow.parquet as pq

        texts = [
            t for p in sorted(Path(sample).glob("*.parquet")) for t in pq.read_table(p)["content"].to_pylist()
        ]
    else:
        root = Path(sysconfig.get_paths()["stdlib"])
        texts = []
        for path in sorted(root.rglob("*.py")):
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, OSError):
                continue
    out, total = [], 0
    for text in texts:
        if isinstance(text, str) and len(tokenize(text)) >= 10:
            out.append(text)
            total += len(text.encode())
            if total >= mb * 1e6:
                break
    return out


def shingles_bytes(text: str, ngram: int) -> list[bytes]:
    tokens = [t for t in SPLIT.split(text) if t]
    return [" ".join(tokens[i : i + ngram]).encode() for i in range(len(tokens) - ngram + 1)]


def ours(texts: list[str], params: MinHashParams) -> np.ndarray:
    return signatures(texts, params)


def datasketch_bulk(texts: list[str], params: MinHashParams) -> list:
    return MinHash.bulk(
        [shingles_bytes(t, params.ngram) for t in texts], num_perm=params.num_perm, seed=params.seed
    )


def datasketch_update(texts: list[str], params: MinHashParams) -> list:
    out = []
    for text in texts:
        m = MinHash(num_perm=params.num_perm, seed=params.seed)
        for shingle in shingles_bytes(text, params.ngram):
            m.update(shingle)
        out.append(m)
    return out


def measure(fn, texts: list[str], params: MinHashParams) -> tuple[float, float]:
    mb = sum(len(t.encode()) for t in texts) / 1e6
    start = time.process_time()
    fn(texts, params)
    seconds = time.process_time() - start
    return mb, mb / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=8.0, help="MB of text for ours and bulk")
    parser.add_argument("--update-mb", type=float, default=0.5, help="MB for MinHash.update (slow)")
    parser.add_argument("--ngram", type=int, nargs="+", default=[5, 1])
    parser.add_argument("--num-perm", type=int, default=256)
    parser.add_argument("--sample", default=None, help="a samplegen.sample output dir instead of the stdlib")
    args = parser.parse_args(argv)
    texts = load_texts(args.mb, args.sample)
    few = load_texts(args.update_mb, args.sample)
    print(f"{len(texts)} docs, {sum(len(t.encode()) for t in texts) / 1e6:.1f} MB; num_perm={args.num_perm}")
    print(f"{'ngram':>5} {'contender':<22} {'MB':>6} {'MB/s/core':>10} {'vs bulk':>8}")
    for ngram in args.ngram:
        params = MinHashParams(ngram=ngram, num_perm=args.num_perm, seed=1)
        ours(texts[:20], params)  # warm-up: permutation table, compiled kernels (from the disk cache or JIT)
        results = {
            "stackcurate (numba)": measure(ours, texts, params),
            "datasketch bulk": measure(datasketch_bulk, texts, params),
            "datasketch update": measure(datasketch_update, few, params),
        }
        bulk = results["datasketch bulk"][1]
        for name, (mb, rate) in results.items():
            print(f"{ngram:>5} {name:<22} {mb:>6.1f} {rate:>10.2f} {rate / bulk:>7.2f}x")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
