"""Benchmark: BPE training time and peak memory for 20 / 100 / 400 MB of code, and tokenization MB/s per core.

The corpus is real code found on this machine by ``samplegen.sources.find_sources`` (as the
sample builder finds it), balanced by bytes across languages: Python's standard library (``*.py``,
no site-packages), npm's own JavaScript and the JDK sources (``lib/src.zip``). Once a language's files run out the others fill the
target; once all run out (about 250 MB here) the files are repeated, which the output reports
as ``unique_mb``. Repeats add pre-tokenization work but no new distinct words, so they flatter
the merge phase a little; the figures say so.

Each training size runs in a fresh subprocess so its peak RSS is its own. Tokenization speed is
measured with one thread (``RAYON_NUM_THREADS=1``), i.e. per core, end to end (parquet read,
``encode_batch_fast``, MMIDIDX write), on the 20 MB corpus with the tokenizer trained on it.

    .venv/bin/python -m bench.tokenizer --sizes 20 100 400 [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
# Run as a script, this file's folder is sys.path[0] and "tokenizer" would import this very file.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

from samplegen.sources import Source, find_sources  # noqa: E402 (needs the sys.path fix above)


def source_texts(source: Source) -> Iterator[str]:
    for rel, _ in source.files:
        yield source.text(rel)


def build_corpus(target_mb: int, out_dir: Path, sources: dict[str, callable]) -> dict:
    """Write ``out_dir/corpus.parquet`` with ``target_mb`` MB of content, balanced by bytes per language."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = target_mb * MB
    streams = {lang: make() for lang, make in sources.items()}
    written = dict.fromkeys(sources, 0)
    unique, total, passes = 0, 0, 1
    rows: list[dict] = []
    writer = pq.ParquetWriter(
        out_dir / "corpus.parquet", pa.schema([("lang", pa.string()), ("content", pa.string())])
    )
    while total < target:
        live = [lang for lang in streams if streams[lang] is not None]
        if not live:  # every source exhausted: repeat them all
            passes += 1
            streams = {lang: make() for lang, make in sources.items()}
            continue
        lang = min(live, key=lambda name: written[name])
        text = next(streams[lang], None)
        if text is None:
            streams[lang] = None
            continue
        size = len(text.encode("utf-8"))
        rows.append({"lang": lang, "content": text})
        written[lang] += size
        total += size
        if passes == 1:
            unique += size
        if len(rows) >= 2000:
            writer.write_table(pa.Table.from_pylist(rows))
            rows = []
    if rows:
        writer.write_table(pa.Table.from_pylist(rows))
    writer.close()
    return {
        "mb": round(total / MB, 1),
        "unique_mb": round(unique / MB, 1),
        "per_lang_mb": {k: round(v / MB, 1) for k, v in written.items()},
    }


def _child_train(corpus_dir: str, out_dir: str, vocab_size: int) -> None:
    from tokenizer.train import train_from_parquet

    cpu = time.process_time()
    summary = train_from_parquet([corpus_dir], out_dir, vocab_size=vocab_size, show_progress=False)
    cpu_seconds = round(time.process_time() - cpu, 2)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu_seconds": cpu_seconds, "peak_rss_mb": round(peak_mb), **summary}))


def _child_tokenize(corpus_dir: str, tokenizer_dir: str, prefix: str) -> None:
    from tokenizer.tokenize import tokenize_to_indexed

    start, cpu = time.perf_counter(), time.process_time()
    stats = tokenize_to_indexed([corpus_dir], tokenizer_dir, prefix)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), **stats["all"]}))


def run_child(args: list[str], threads: int | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="true")
    if threads:
        env.update(RAYON_NUM_THREADS=str(threads), RAYON_RS_NUM_CPUS=str(threads))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 400], help="corpus sizes in MB")
    parser.add_argument("--vocab-size", type=int, default=49_152)
    parser.add_argument("--workdir", default=str(ROOT / ".cache" / "bench" / "tokenizer"))
    parser.add_argument("--output", help="JSON file for the figures (default: WORKDIR/results.json)")
    parser.add_argument("--skip-tokenize", action="store_true", help="only the training sizes")
    parser.add_argument("--_child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        kind, *rest = args._child
        if kind == "train":
            _child_train(rest[0], rest[1], int(rest[2]))
        else:
            _child_tokenize(*rest)
        return

    work = Path(args.workdir)
    found = find_sources()  # the machine's stdlib, npm and JDK src.zip, as the sample builder finds them
    sources = {lang.lower(): (lambda source=source: source_texts(source)) for lang, source in found.items()}
    results: dict = {"cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg(), "train": {}}
    for size in args.sizes:
        corpus_dir = work / f"corpus-{size}MB"
        corpus = build_corpus(size, corpus_dir, sources)
        trained = run_child(
            ["--_child", "train", str(corpus_dir), str(work / f"tok-{size}MB"), str(args.vocab_size)]
        )
        results["train"][size] = {"corpus": corpus, **trained}
        print(
            f"{size:>4} MB (unique {corpus['unique_mb']} MB): train wall {trained['train_seconds']:.1f} s, "
            f"CPU {trained['cpu_seconds']:.1f} s ({trained['cpu_seconds'] / corpus['mb']:.2f} CPU-s/MB), "
            f"peak RSS {trained['peak_rss_mb']} MB, base vocab {trained['base_vocab_size']}",
            flush=True,
        )
    if args.skip_tokenize:
        return write_results(results, args, work)
    smallest = min(args.sizes)
    tok = run_child(
        [
            "--_child",
            "tokenize",
            str(work / f"corpus-{smallest}MB"),
            str(work / f"tok-{smallest}MB"),
            str(work / "shard"),
        ],
        threads=1,
    )
    corpus_mb = results["train"][smallest]["corpus"]["mb"]
    results["tokenize_one_thread"] = {
        **tok,
        "mb": corpus_mb,
        "mb_per_wall_s": round(corpus_mb / tok["seconds"], 2),
        "mb_per_cpu_s": round(corpus_mb / tok["cpu_seconds"], 2),
    }
    print(
        f"tokenize (1 thread, parquet -> MMIDIDX): {corpus_mb} MB in {tok['seconds']} s wall / "
        f"{tok['cpu_seconds']} s CPU = {corpus_mb / tok['cpu_seconds']:.2f} MB per CPU-second "
        f"({corpus_mb / tok['seconds']:.2f} MB/s wall), {tok['chars'] / tok['tokens']:.2f} chars/token"
    )
    write_results(results, args, work)


def write_results(results: dict, args: argparse.Namespace, work: Path) -> None:
    results["load_avg_end"] = os.getloadavg()
    output = Path(args.output) if args.output else work / "results.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
