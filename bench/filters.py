"""MB/s per core of the stars, comments and fertility filters, and the comment-lexer comparison.

    python -m bench.filters [--mb-per-lang 4] [--sample-dir DIR] [--tokenizer PATH]

Documents come from ``samplegen.sample.build_sample`` when that module exists
(or from ``--sample-dir``, a directory of Stack-format parquet files), else
from files on this machine: the Python stdlib, the JDK's ``src.zip`` and the
global npm packages. Times are CPU seconds of this one process, so MB/s is
per core; on a shared machine the figures are noisy.

For comments, every candidate lexer is run on every document and compared
with the reference definition (bigcode-dataset: ast + tokenize for Python,
Pygments for Java/JS): the share of files whose ratio is within 0.005 of the
reference (the acceptance bar is 99 %), speed, and which path the default
(``tree-sitter``) lexer took: the one-scan fast path (Python, Java), the
tree-sitter parse, or the reference. ``pygments-python`` is the
Pygments Python lexer (``Comment.Single`` with ``#`` removed + ``String.Doc``
tokens), the "Pygments definition" for Python that the reference did not use.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from filters.comments import LEXERS, UnparseableError, comment_chars, comment_ratio
from filters.fertility import CharTokenRatio
from filters.stars import keep_stars, stars_count
from samplegen.sources import find_sources
from tokenizer.load import load_tokenizer

TOLERANCE = 0.005


def local_documents(mb_per_lang: float, seed: int = 0) -> list[dict]:
    """Python stdlib, JDK sources and npm files (as the sample builder finds them): real code on this machine.

    Files are shuffled by name and read only until each language's budget is reached."""
    budget = int(mb_per_lang * 1e6)
    docs = []
    for lang, source in find_sources().items():
        names = [rel for rel, size in source.files if size < 1_000_000]
        random.Random(seed).shuffle(names)
        size = 0
        for name in names:
            if size >= budget:
                break
            text = source.text(name)
            size += len(text.encode("utf-8", "surrogatepass"))
            docs.append(
                {"id": name, "content": text, "lang": lang.lower(), "max_stars_count": len(text) % 11 or None}
            )
    return docs


def sample_documents(sample_dir: str | None, mb_per_lang: float) -> tuple[list[dict], str]:
    """The project's sample when available, else local files."""
    import pyarrow.parquet as pq

    if sample_dir is None:
        try:
            from samplegen.sample import build_sample
        except ImportError:
            return local_documents(mb_per_lang), "local files (stdlib, JDK src.zip, npm)"
        sample_dir = str(
            build_sample(tempfile.mkdtemp(prefix="bench_filters_"), size_mb=int(3 * mb_per_lang))
        )
    docs = []
    for path in sorted(Path(sample_dir).glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            row["lang"] = str(row.get("lang", "")).lower()
            row.setdefault("id", f"{path.name}:{len(docs)}:{row.get('max_stars_repo_path')}")
            docs.append(row)
    return docs, f"sample {sample_dir}"


def _pygments_python_chars(content: str) -> int:
    import inspect

    import pygments
    from pygments.lexers import PythonLexer
    from pygments.token import Comment, String

    total = 0
    for kind, value in pygments.lex(content, PythonLexer()):
        if kind in Comment.Single:
            total += len(value.replace("#", ""))
        elif kind in String.Doc:
            total += len(inspect.cleandoc(value.strip("'\"rRuUbB")))
    return total


def _mb(docs: list[dict]) -> float:
    return sum(len(d["content"].encode("utf-8", "surrogatepass")) for d in docs) / 1e6


def bench_comment_lexers(docs: list[dict]) -> None:
    print("\n== comments: candidate lexers vs the reference definition (within 0.005) ==")
    print(
        f"{'lang':<11}{'lexer':<16}{'files':>6}{'MB':>7}{'MB/s/core':>11}{'agree':>9}{'unparse':>9}  worst |diff|"
    )
    for lang in ("python", "java", "javascript"):
        subset = [d for d in docs if d["lang"] == lang and d["content"]]
        if not subset:
            continue
        reference: dict[str, float | None] = {}
        candidates = list(LEXERS) + (["pygments-python"] if lang == "python" else [])
        candidates.sort(key=lambda name: name != "reference")
        for lexer in candidates:
            start = time.process_time()
            ratios: dict[str, float | None] = {}
            for doc in subset:
                try:
                    if lexer == "pygments-python":
                        ratios[doc["id"]] = _pygments_python_chars(doc["content"]) / len(doc["content"])
                    else:
                        ratios[doc["id"]] = comment_ratio(doc["content"], lang, lexer)
                except UnparseableError:
                    ratios[doc["id"]] = None
            seconds = time.process_time() - start
            if lexer == "reference":
                reference = ratios
            diffs = [
                (abs(ratios[i] - reference[i]) if None not in (ratios[i], reference[i]) else 1.0, i)
                for i in ratios
                if not (ratios[i] is None and reference[i] is None)
            ]
            agree = sum(d <= TOLERANCE for d, _ in diffs) / max(1, len(diffs))
            worst = max(diffs, default=(0.0, ""))
            unparseable = sum(r is None for r in ratios.values())
            print(
                f"{lang:<11}{lexer:<16}{len(subset):>6}{_mb(subset):>7.2f}{_mb(subset) / seconds:>11.2f}"
                f"{agree:>9.2%}{unparseable:>9}  {worst[0]:.4f} {worst[1][-60:]}"
            )
        print(f"{'':<11}{_paths(subset, lang)}")


def _paths(subset: list[dict], lang: str) -> str:
    """Which path the default lexer took: the fast scan (Python, Java), tree-sitter, or the reference."""
    import filters.comments_python as python_scan
    from filters.comments_java import java_comment_chars_fast
    from filters.comments_javascript import javascript_comment_chars_fast
    from filters.comments_treesitter import comment_chars_treesitter

    texts = [doc["content"] for doc in subset if isinstance(doc["content"], str) and doc["content"]]
    if lang in ("java", "javascript"):
        scan = java_comment_chars_fast if lang == "java" else javascript_comment_chars_fast
        back = [text for text in texts if scan(text) is None]
        errors = sum(comment_chars_treesitter(text, lang) is None for text in back)
        return (
            f"fast scan: {len(texts) - len(back)} files; handed back to tree-sitter: {len(back) - errors}, "
            f"to the reference (syntax error): {errors}"
        )
    real_ast, from_ast = python_scan.python_docstrings_ast, []
    python_scan.python_docstrings_ast = lambda text: from_ast.append(1) or real_ast(text)
    try:
        back = [text for text in texts if python_scan.python_comment_chars_fast(text) is None]
    finally:
        python_scan.python_docstrings_ast = real_ast
    errors = sum(comment_chars_treesitter(text, lang) is None for text in back)
    return (
        f"fast scan: {len(texts) - len(back)} files ({len(from_ast)} with docstrings from ast); "
        f"handed back to tree-sitter: {len(back) - errors}, to the reference (syntax error): {errors}"
    )


def bench_filters(docs: list[dict], tokenizer_path: str | None) -> None:
    print("\n== filters: MB/s per core ==")
    mb = _mb(docs)
    start = time.process_time()
    kept = sum(keep_stars(stars_count(d.get("max_stars_count")), 5) for d in docs)
    seconds = time.process_time() - start
    print(f"stars      {len(docs)} docs {mb:.2f} MB  {mb / max(seconds, 1e-9):10.1f} MB/s/core  kept {kept}")
    from filters.comments_treesitter import warm_up

    start = time.process_time()
    warm_up()  # what a worker's setup does once: parsers, and numba's start and the compiled scans' loading
    print(
        f"comments   warm-up {time.process_time() - start:.2f} s CPU (once per worker; not in the MB/s below)"
    )
    total_mb = total_seconds = 0.0
    for lang in ("python", "java", "javascript"):
        subset = [d for d in docs if d["lang"] == lang]
        start = time.process_time()
        for doc in subset:
            try:
                comment_chars(doc["content"], lang, "tree-sitter")
            except UnparseableError:
                pass
        seconds = time.process_time() - start
        total_mb, total_seconds = total_mb + _mb(subset), total_seconds + seconds
        print(
            f"comments   {lang:<11}{_mb(subset):6.2f} MB  {_mb(subset) / max(seconds, 1e-9):8.2f} MB/s/core"
        )
    print(
        f"comments   {'all three':<11}{total_mb:6.2f} MB  {total_mb / max(total_seconds, 1e-9):8.2f} MB/s/core"
    )
    if tokenizer_path is None:
        tokenizer_path = _train_bench_tokenizer(docs)
    ratio = CharTokenRatio(load_tokenizer(tokenizer_path), batch_size=64)
    texts = [d["content"] for d in docs]
    start = time.process_time()
    ratio.scores(texts)
    seconds = time.process_time() - start
    print(
        f"fertility  {len(docs)} docs {mb:.2f} MB  {mb / seconds:10.2f} MB/s/core (encode_batch; CPU time of all tokenizer threads)"
    )


def _train_bench_tokenizer(docs: list[dict]) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8192, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator((d["content"] for d in docs[::4]), trainer=trainer)
    path = Path(tempfile.mkdtemp(prefix="bench_tok_")) / "tokenizer.json"
    tokenizer.save(str(path))
    print(f"(trained an 8,192-token byte-level BPE on a quarter of the documents: {path})")
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb-per-lang", type=float, default=4.0)
    parser.add_argument("--sample-dir", default=None)
    parser.add_argument("--tokenizer", default=None, help="tokenizer.json (default: train a small one here)")
    parser.add_argument("--skip-lexers", action="store_true")
    args = parser.parse_args(argv)
    docs, source = sample_documents(args.sample_dir, args.mb_per_lang)
    by_lang = {lang: sum(d["lang"] == lang for d in docs) for lang in ("python", "java", "javascript")}
    print(f"documents: {len(docs)} from {source}; {by_lang}; {_mb(docs):.1f} MB")
    if not args.skip_lexers:
        bench_comment_lexers(docs)
    bench_filters(docs, args.tokenizer)
    from bench.filters_v2 import bench_v2_filters  # The Stack v2 filters, measured in their own module

    bench_v2_filters(docs)


if __name__ == "__main__":
    main()
