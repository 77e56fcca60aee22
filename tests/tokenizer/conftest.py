"""Fixtures for the tokenizer tests: a small deterministic code corpus as curated parquet, and a
1,000-token tokenizer trained on it once per session (a few seconds)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SMALL_VOCAB = 1000

JAVA_TEMPLATE = """package org.example.m{i};

import java.util.List;

/** Holds value {i} and its square {sq}. */
public class Item{i} {{
\tprivate final int value = {i};
\tprivate final long square = {sq}L;

\tpublic int get{name}() {{
\t\treturn value + {j};
\t}}
}}
"""

JS_TEMPLATE = """// module {i}: "{name}" ü
const {name} = (x) => x * {i} + {j};\r\nexport function call{name}(list) {{\r\n  return list.map({name}).filter((v) => v > {sq});\r\n}}\r\n"""


def _python_files(limit_bytes: int = 300_000) -> list[str]:
    """Real Python: stdlib modules in name order, up to ``limit_bytes``."""
    texts, total = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if total + len(text) > limit_bytes:
            continue
        texts.append(text)
        total += len(text)
        if len(texts) >= 60:
            break
    return texts


def _templated(template: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name = "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9))
        ).capitalize()
        out.append(template.format(i=i, j=rng.randint(0, 99_999), sq=i * i, name=name))
    return out


@pytest.fixture(scope="session")
def code_corpus() -> dict[str, list[str]]:
    return {
        "python": _python_files(),
        "java": _templated(JAVA_TEMPLATE, 80, seed=1),
        "javascript": _templated(JS_TEMPLATE, 80, seed=2),
    }


def write_data_dir(root: Path, corpus: dict[str, list[str]], files_per_lang: int = 2) -> Path:
    """``root/<lang>/train-0000k-of-0000n.parquet`` with id / lang / content, as the pipeline writes ``data/``."""
    display = {"python": "Python", "java": "Java", "javascript": "JavaScript"}
    for lang, texts in corpus.items():
        (root / lang).mkdir(parents=True, exist_ok=True)
        chunks = [texts[k::files_per_lang] for k in range(files_per_lang)]
        for k, chunk in enumerate(chunks):
            ids = [f"{lang[:2]}{k:02d}{n:06d}".ljust(20, "0") for n in range(len(chunk))]
            table = pa.table({"id": ids, "lang": [display[lang]] * len(chunk), "content": chunk})
            pq.write_table(table, root / lang / f"train-{k:05d}-of-{files_per_lang:05d}.parquet")
    return root


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, code_corpus) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("curated") / "data", code_corpus)


@pytest.fixture(scope="session")
def small_tokenizer_dir(tmp_path_factory, data_dir) -> Path:
    from tokenizer.train import train_from_parquet

    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    train_from_parquet([data_dir], out, vocab_size=SMALL_VOCAB, show_progress=False)
    return out
