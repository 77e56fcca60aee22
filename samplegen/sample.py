"""Build a Stack-v1.1-format sample from real code on this machine, with labelled planted cases.

Why: every stage needs realistic input and a ground truth to measure recall and
false removals against, without network access. The code is real (Python from
the running interpreter's stdlib, JavaScript from Node.js's bundled npm, Java
from a JDK ``src.zip``); the METADATA IS SYNTHETIC: repo names (files grouped
by directory, invented owners), stars (heavy-tailed, ~20% null), licences, head
shas and star dates are derived deterministically from the seed, not real.

Real files are screened so that the labels in ``truth.json`` are the whole
truth: kept only when UTF-8, <= 1 MiB, not empty or binary, passing the basic
filter, free of benchmark text, and neither an exact nor a near duplicate
(MinHash LSH on word 5-grams and unigrams, verified by exact Jaccard) of another
kept file. The planted cases are built in :mod:`samplegen.cases`.

Output: ``part-XXXXX.parquet`` (a few files), ``bad.jsonl`` (rows parquet
cannot hold: undecodable text, binary, empty, null repo, oversized),
``truth.json`` and ``sample_info.json``. Same machine + same seed -> same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from cli.command import CliParser, run_cli
from pipeline.ids import content_digest, git_blob_sha1, line_stats
from pipeline.schema import STACK_TYPES
from samplegen import cases
from samplegen.sources import LANG_EXTS, Pool, Screen, find_sources

_CHECKOUT = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (_CHECKOUT / "shared", _CHECKOUT.parent / "shared") if p.is_dir()),
    _CHECKOUT.parent / "shared",
)
PART_BYTES = 5_000_000
SYNTHETIC_NOTE = (
    "metadata (repo names, owners, stars, licences, dates, head shas) is synthetic; content is real"
)
LICENSES = [
    ["MIT"],
    ["Apache-2.0"],
    ["BSD-3-Clause"],
    ["MIT", "Apache-2.0"],
    ["BSD-2-Clause"],
    ["ISC"],
    ["GPL-3.0"],
]
# The Stack v1.1 columns a sample row has (the reader derives ``id``; the sample has no max event date).
SCHEMA = pa.schema(
    [
        (name, kind)
        for name, kind in STACK_TYPES.items()
        if name not in ("id", "max_stars_repo_stars_event_max_datetime")
    ]
)


# ---------------------------------------------------------------- benchmarks and opt-outs
def _docstring_literal(prompt: str, entry_point: str) -> str:
    start = prompt.find(f"def {entry_point}(")
    quote = min(
        (q for q in ('"""', "'''") if prompt.find(q, start) >= 0), key=lambda q: prompt.find(q, start)
    )
    open_at = prompt.find(quote, start)
    close_at = prompt.find(quote, open_at + 3) + 3
    return prompt[prompt.rfind("\n", 0, open_at) + 1 : close_at]


def load_benchmark_records(bench_dir: Path) -> dict[str, list[dict]]:
    """Benchmark records by planting kind, from the layout of ``shared/benchmarks`` (see its README)."""
    out: dict[str, list[dict]] = {}
    with gzip.open(bench_dir / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            rec = dict(r, benchmark="humaneval", docstring=_docstring_literal(r["prompt"], r["entry_point"]))
            out.setdefault("humaneval", []).append(rec)
    out["humaneval_doc"] = out["humaneval_solution"] = out["humaneval"]
    with open(bench_dir / "mbpp" / "mbpp.jsonl", encoding="utf-8") as handle:
        out["mbpp"] = [dict(json.loads(line), benchmark="mbpp") for line in handle if line.strip()]
    out["mbpp_text"] = out["mbpp_code"] = [r for r in out["mbpp"] if 11 <= r["task_id"] <= 510]
    for problem in sorted((bench_dir / "apps").glob("*/[0-9]*")):
        question = (problem / "question.txt").read_text(encoding="utf-8")
        task_id = f"{problem.parent.name}/{problem.name}"
        out.setdefault("apps", []).append({"benchmark": "apps", "task_id": task_id, "question": question})
    for path in sorted((bench_dir / "multipl-e").glob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            rows = [dict(json.loads(line), benchmark="multipl-e") for line in handle if line.strip()]
        for r in rows:
            r["task_id"] = r["name"]
        out.setdefault("multipl-e", []).extend(rows)
        if path.name in ("humaneval-java-reworded.jsonl", "humaneval-js-reworded.jsonl"):
            out["multipl-e-java" if "java" in path.name else "multipl-e-js"] = rows
    return out


def benchmark_strings(records: dict[str, list[dict]]) -> dict[str, set]:
    """Lower-cased, stripped benchmark texts -> the (benchmark, task_id) labels they belong to."""
    fields = {"humaneval": ("prompt", "docstring", "canonical_solution"), "mbpp": ("text", "code")}
    fields |= {"apps": ("question",), "multipl-e": ("prompt",)}
    strings: dict[str, set] = {}
    for kind, names in fields.items():
        for r in records.get(kind, []):
            texts = [r[f] for f in names] + (
                [r["docstring"].strip().strip("\"'")] if kind == "humaneval" else []
            )
            for text in texts:
                if len(text.strip()) >= 8:
                    strings.setdefault(text.strip().lower(), set()).add((r["benchmark"], r["task_id"]))
    return strings


def read_optout_list(path: Path) -> tuple[list[str], list[str]]:
    """(owners, owner/repo entries) from the opt-out-v2 ``optouts.jsonl`` format or plain lines."""
    owners, repos = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            owners += row.get("optout_owners", [])
            repos += row.get("optout_repos", [])
        elif line and not line.startswith("#"):
            (repos if "/" in line else owners).append(line)
    return owners, repos


# ---------------------------------------------------------------- synthetic metadata
class Synth:
    """Deterministic synthetic owners and repo metadata (never real, never an opted-out owner)."""

    def __init__(self, seed: int, forbidden_owners: set[str]):
        self.seed, self.forbidden = seed, forbidden_owners
        self.by_key: dict[str, str] = {}
        self.taken: set[str] = set()

    def _rng(self, *key: object) -> random.Random:
        return random.Random("|".join(map(str, (self.seed, *key))))

    def owner(self, key: str) -> str:
        if key not in self.by_key:
            rng = self._rng("owner", key)
            name = cases.word(rng, rng.choice([2, 3])) + (
                str(rng.randrange(100)) if rng.random() < 0.3 else ""
            )
            while name.lower() in self.forbidden or name.lower() in self.taken:
                name += rng.choice("0123456789")
            self.taken.add(name.lower())
            self.by_key[key] = name
        return self.by_key[key]

    def new_owner(self) -> str:
        return self.owner(f"planted-{len(self.by_key)}")

    def repo_for(self, lang: str, rel_path: str) -> str:
        folder = rel_path.rsplit("/", 1)[0] if "/" in rel_path else ""
        default = {"Python": "pystdlib", "Java": "jdk", "JavaScript": "npm-cli"}[lang]
        parts = [p for p in folder.split("/") if p and p != "node_modules"][-2:]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)) or default
        return f"{self.owner(f'{lang}:{folder}')}/{slug}"

    def stars(self, repo: str | None) -> int | None:
        rng = self._rng("stars", repo)
        u = rng.random()
        if repo is None or u < 0.2:
            return None
        if u < 0.72:
            return min(4, int(rng.expovariate(0.6)))
        return min(150_000, int(5 * rng.paretovariate(0.9)))

    def row(self, doc: cases.Doc) -> dict:
        data = doc.content.encode("utf-8", "surrogatepass")
        stars = self.stars(doc.repo) if doc.stars == "auto" else doc.stars
        rng = self._rng("meta", doc.repo)
        when = f"{rng.randrange(2009, 2023)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
        when += f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.000Z"
        avg, longest, alnum = line_stats(doc.content)
        return {
            "hexsha": git_blob_sha1(data),
            "size": len(data),
            "ext": doc.path.rsplit(".", 1)[-1] if "." in doc.path else "",
            "lang": doc.lang,
            "max_stars_repo_path": doc.path,
            "max_stars_repo_name": doc.repo,
            "max_stars_repo_head_hexsha": hashlib.sha1(f"{self.seed}|head|{doc.repo}".encode()).hexdigest(),
            "max_stars_repo_licenses": rng.choice(LICENSES) if doc.repo else [],
            "max_stars_count": stars,
            "max_stars_repo_stars_event_min_datetime": None if stars is None else when,
            "content": doc.content,
            "avg_line_length": avg,
            "max_line_length": longest,
            "alphanum_fraction": alnum,
        }


# ---------------------------------------------------------------- building
def _default(path: str | os.PathLike | None, fallback: Path) -> Path | None:
    if path is not None:
        return Path(path) if str(path) else None
    return fallback if fallback.exists() else None


def _write_parts(output: Path, rows: list[dict]) -> list[Path]:
    total = sum(r["size"] for r in rows)
    parts = max(2, -(-total // PART_BYTES))
    chunks: list[list[dict]] = [[] for _ in range(parts)]
    done = 0
    for row in rows:
        chunks[min(parts - 1, done * parts // max(total, 1))].append(row)
        done += row["size"]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(output / f"part-{i:05d}.parquet")
        pq.write_table(pa.Table.from_pylist(chunk, schema=SCHEMA), paths[-1], row_group_size=2000)
    return paths


def read_sample_docs(sample_dir: Path) -> list[dict]:
    """A sample's rows as the dedup stages see them: ids added, sorted by id, one copy per identical
    content (what ``exact_dedup`` leaves)."""
    from pipeline.inputs import prepare  # here: pipeline.inputs imports Beam, which the builder does not need

    rows = [
        row for part in sorted(Path(sample_dir).glob("*.parquet")) for row in pq.read_table(part).to_pylist()
    ]
    docs, seen = [], set()
    for doc in sorted((prepare(r) for r in rows), key=lambda d: d["id"]):
        digest = content_digest(doc["content"])
        if digest not in seen:
            seen.add(digest)
            docs.append(doc)
    return docs


def build_sample(
    output_dir: str | os.PathLike,
    size_mb: float = 20,
    seed: int = 0,
    benchmarks_dir: str | os.PathLike | None = None,
    optout_list: str | os.PathLike | None = None,
    java_dir: str | os.PathLike | None = None,
    js_dir: str | os.PathLike | None = None,
) -> Path:
    """Write the sample into ``output_dir`` and return it (see the module docstring).

    ``benchmarks_dir`` / ``optout_list`` default to ``../shared`` of the checkout when present
    (pass ``""`` to go without); without an opt-out list a synthetic one is written as
    ``optouts.txt`` in the output so the opt-out cases still have a list to match.
    """
    started = time.perf_counter()
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    for old in [
        *output.glob("part-*.parquet"),
        output / "bad.jsonl",
        output / "truth.json",
        output / "optouts.txt",
    ]:
        old.unlink(missing_ok=True)
    target = int(size_mb * 1_000_000)
    sources = find_sources(str(java_dir) if java_dir else None, str(js_dir) if js_dir else None)
    bench_dir = _default(benchmarks_dir, SHARED / "benchmarks")
    records = load_benchmark_records(bench_dir) if bench_dir else {}
    optout_path = _default(optout_list, SHARED / "optout" / "optouts.jsonl")
    if optout_path:
        owners, repos = read_optout_list(optout_path)
    else:
        rng = random.Random(f"{seed}|optout")
        owners = sorted({cases.word(rng, 3) + "-" + cases.word(rng, 2) for _ in range(40)})
        repos = [f"{cases.word(rng, 4)}/{cases.word(rng, 2)}-{i}" for i in range(10)]
        (output / "optouts.txt").write_text("\n".join(owners + repos) + "\n", encoding="utf-8")
    screen = Screen(benchmark_strings(records))
    synth = Synth(seed, {o.lower() for o in owners} | {r.split("/")[0].lower() for r in repos})
    progress = tqdm(total=target, unit="B", unit_scale=True, desc="collecting real code", file=sys.stderr)
    pools = {lang: Pool(src, seed, screen, progress) for lang, src in sorted(sources.items())}

    def take(lang: str, min_lines: int, max_lines: int) -> tuple[str, str, str]:
        for name in [lang, *sorted(pools)]:
            got = pools[name].take(min_lines, max_lines) if name in pools else None
            if got:
                return name, got[0], got[1]
        raise RuntimeError(f"no real {lang} file with {min_lines}-{max_lines} lines left to plant a case")

    ctx = cases.Ctx(random.Random(seed), take, synth.new_owner, screen.bench_hits)
    truth = {
        "optout": cases.plant_optout(ctx, owners, repos),
        "exact_dup": cases.plant_exact_dups(ctx),
        "near_dup": cases.plant_near_dups(ctx),
        "basic": cases.plant_basic(ctx),
        "pii": cases.plant_pii(ctx),
    }
    clean_until = len(ctx.docs)
    truth["decontam"] = cases.plant_decontam(ctx, records) if records else []
    bad_docs, truth["invalid"] = cases.plant_invalid(ctx)
    for doc in ctx.docs[:clean_until] + bad_docs:
        if screen.bench_hits(doc.content):
            raise RuntimeError(f"planted document {doc.id} contains benchmark text by accident")
    basic_ids = {t["id"] for t in truth["basic"]}
    assert all(cases.passes_basic(d.content) for d in ctx.docs if d.id not in basic_ids)

    regular: list[cases.Doc] = []
    left = target - sum(len(d.content.encode("utf-8")) for d in ctx.docs)
    by_size = sorted(pools, key=lambda lang: (sum(s for _, s in pools[lang].order), lang))
    for i, lang in enumerate(by_size):
        got = pools[lang].fill(max(0, left) // (len(by_size) - i))
        regular += [cases.Doc(lang, synth.repo_for(lang, rel), rel, content) for rel, content in got]
        left -= sum(len(content.encode("utf-8")) for _, content in got)
    progress.close()

    docs = ctx.docs + regular
    random.Random(f"{seed}|rows").shuffle(docs)
    rows = [synth.row(d) for d in docs]
    ids = [d.id for d in docs + bad_docs]
    assert len(set(ids)) == len(ids), "document ids must be unique"
    parts = _write_parts(output, rows)
    with open(output / "bad.jsonl", "w", encoding="ascii") as handle:
        for doc in bad_docs:
            handle.write(json.dumps(synth.row(doc), ensure_ascii=True) + "\n")
    (output / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    per_lang: dict[str, Counter] = {}
    for row in rows:
        per_lang.setdefault(row["lang"], Counter()).update(docs=1, bytes=row["size"])
    info = {
        "note": SYNTHETIC_NOTE,
        "seed": seed,
        "target_bytes": target,
        "content_bytes": sum(r["size"] for r in rows),
        "parts": [p.name for p in parts],
        "sources": {lang: str(src.location) for lang, src in sorted(sources.items())},
        "missing_languages": sorted(set(LANG_EXTS) - set(sources)),
        "per_language": {lang: dict(c) for lang, c in sorted(per_lang.items())},
        "planted": {k: len(v) for k, v in truth.items()},
        "skipped_real_files": dict(sorted(screen.skipped.items())),
        "benchmarks_dir": str(bench_dir) if bench_dir else None,
        "optout_list": str(optout_path) if optout_path else str(output / "optouts.txt"),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (output / "sample_info.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return output


def build_parser() -> CliParser:
    parser = CliParser(
        prog="python -m samplegen.sample",
        description="Build a Stack-v1.1-format sample (parquet + bad.jsonl + truth.json) from real code on this "
        f"machine with labelled planted cases. NOTE: {SYNTHETIC_NOTE}.",
    )
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--size_mb", type=float, default=20, help="content size in MB")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for file choice, planted cases and metadata"
    )
    parser.add_argument("--java_dir", help="Java sources (directory or src.zip) instead of the JDK's src.zip")
    parser.add_argument("--js_dir", help="JavaScript sources instead of Node.js's bundled npm")
    parser.add_argument(
        "--benchmarks_dir", help="benchmark data (default: ../shared/benchmarks when present)"
    )
    parser.add_argument(
        "--optout_list", help="opt-out list (default: ../shared/optout/optouts.jsonl when present)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = build_sample(
        args.output,
        args.size_mb,
        args.seed,
        args.benchmarks_dir,
        args.optout_list,
        args.java_dir,
        args.js_dir,
    )
    info = json.loads((out / "sample_info.json").read_text(encoding="utf-8"))
    print(f"sample in {out} ({info['content_bytes'] / 1e6:.1f} MB, {info['seconds']} s); {SYNTHETIC_NOTE}")
    for lang, counts in info["per_language"].items():
        print(
            f"  {lang:<11} {counts['docs']:>6} docs {counts['bytes'] / 1e6:>7.2f} MB  from {info['sources'][lang]}"
        )
    print("  planted: " + ", ".join(f"{k}={v}" for k, v in info["planted"].items()))
    for lang in info["missing_languages"]:
        print(f"  no {lang} sources found: pass --{'java' if lang == 'Java' else 'js'}_dir", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main, "samplegen.sample")
