"""A small, fully consistent fake pipeline output (OUT/ per DESIGN.md) for the ship tests.

Built with pyarrow only, so publish / card / report / ledger can be tested
before (and independently of) the real pipeline. Every number in stats.json
is derived from the rows actually written, so the ledger invariant holds and
tests can assert exact figures.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.ids import doc_id, ids_digest

LANGS = ("python", "java", "javascript")
EXT = {"python": "py", "java": "java", "javascript": "js"}
STAGES = ("validate", "optout", "exact_dedup", "basic", "near_dedup", "pii", "decontam", "comments")
# Per stage: (reason, fraction of the stage's input removed). Ordered as the pipeline runs.
REMOVALS = {
    "validate": ("invalid", 0.02),
    "optout": ("optout", 0.05),
    "exact_dedup": ("exact_duplicate", 0.10),
    "basic": ("alphanum_fraction", 0.06),
    "near_dedup": ("near_duplicate", 0.12),
    "pii": (None, 0.0),
    "decontam": ("contaminated", 0.03),
    "comments": ("comment_ratio", 0.08),
}
LICENSES = (["mit"], ["apache-2.0"], ["bsd-3-clause"], ["mit", "apache-2.0"], ["isc"])
BENCHMARKS = ("humaneval", "mbpp", "multipl-e")
CONFIG = {
    "preset": "santacoder",
    "description": "santacoder: stack-base + dedup-alt near-dedup + comments-to-code filter",
    "sources": ["preset:stack-base", "preset:santacoder", "variant:dedup-alt", "variant:comments"],
    "stages": {
        "validate": {"enabled": True, "max_bytes": 1048576},
        "optout": {"enabled": True, "list": None},
        "exact_dedup": {"enabled": True},
        "basic": {
            "enabled": True,
            "max_line_length": 1000,
            "max_avg_line_length": 100,
            "min_alphanum_fraction": 0.25,
        },
        "near_dedup": {"enabled": True, "ngram": 5, "num_perm": 256, "threshold": 0.7, "verify": True},
        "pii": {"enabled": True},
        "decontam": {"enabled": True, "benchmarks": ["humaneval", "mbpp", "apps", "multipl-e"]},
        "stars": {"enabled": False, "min_stars": 5},
        "comments": {"enabled": True, "min_ratio": 0.01, "max_ratio": 0.8},
        "fertility": {"enabled": False, "cutoffs": {"python": 2.5, "java": 2.9, "javascript": 2.6}},
        "score": {"enabled": False},
    },
    "output": {"shard_target_mb": 256.0, "ledger_shard_rows": 1000000},
}


def _doc(rng: random.Random, lang: str, index: int) -> dict:
    lines = [f"value_{index}_{j} = {rng.randint(0, 10**6)}  # note {j}" for j in range(rng.randint(3, 40))]
    content = "\n".join(lines) + "\n"
    repo = f"owner{rng.randint(0, 50)}/repo{index % 97}"
    path = f"src/mod_{index}.{EXT[lang]}"
    avg = sum(len(line) for line in lines) / len(lines)
    return {
        "content": content,
        "max_stars_repo_name": repo,
        "max_stars_repo_path": path,
        "max_stars_count": rng.choice([None, 0, 1, 3, 10, 250]),
        "max_stars_repo_licenses": rng.choice(LICENSES),
        "hexsha": f"{rng.getrandbits(160):040x}",
        "size": len(content.encode()),
        "ext": EXT[lang],
        "lang": lang,
        "avg_line_length": avg,
        "max_line_length": max(len(line) for line in lines),
        "alphanum_fraction": rng.uniform(0.2, 0.9),
        "id": doc_id(repo, path, content),
    }


def _detail(stage: str, doc: dict, rng: random.Random, kept_ids: list[str]) -> dict:
    if stage == "basic":
        return {"value": rng.uniform(0.05, 0.25), "threshold": 0.25}  # as filters/basic.py writes it
    if stage == "near_dedup":
        return {
            "duplicate_of": rng.choice(kept_ids[:5]) if kept_ids else "",
            "cluster_size": rng.choice([2, 2, 3, 5]),
        }
    if stage == "decontam":
        benchmark = rng.choice(BENCHMARKS)
        return {"benchmark": benchmark, "task_id": f"{benchmark}/{rng.randint(0, 163)}"}
    if stage == "comments":
        return {"comment_ratio": rng.choice([rng.uniform(0, 0.01), rng.uniform(0.8, 1)]), "min_ratio": 0.01}
    return {}


def make_fake_output(out_dir: str | Path, docs_per_lang: int = 120, seed: int = 0, shards: int = 2) -> dict:
    """Write a consistent OUT/ under ``out_dir``; returns the stats dict written to stats.json."""
    out = Path(out_dir)
    rng = random.Random(seed)
    all_ids: list[str] = []
    input_bytes = 0
    stage_stats = [
        {"name": name, "langs": {}, "cpu_s": round(0.5 + i * 0.7, 3)} for i, name in enumerate(STAGES)
    ]
    removed_rows: dict[str, list[dict]] = {name: [] for name in STAGES}
    pii_rows: list[dict] = []
    for lang in LANGS:
        docs = [_doc(rng, lang, i) for i in range(docs_per_lang)]
        all_ids += [d["id"] for d in docs]
        input_bytes += sum(d["size"] for d in docs)
        for stage_index, stage in enumerate(STAGES):
            reason, fraction = REMOVALS[stage]
            n_removed = int(len(docs) * fraction)
            gone, docs = docs[:n_removed], docs[n_removed:]
            row = {
                "docs_in": len(docs) + len(gone),
                "bytes_in": sum(d["size"] for d in docs + gone),
                "docs_out": len(docs),
                "bytes_out": sum(d["size"] for d in docs),
                "removed": {},
            }
            if gone:
                row["removed"][reason] = {"docs": len(gone), "bytes": sum(d["size"] for d in gone)}
            for d in gone:
                detail = _detail(stage, d, rng, [k["id"] for k in docs])
                removed_rows[stage].append(
                    {
                        "id": d["id"],
                        "repo": d["max_stars_repo_name"],
                        "path": d["max_stars_repo_path"],
                        "lang": lang,
                        "size": d["size"],
                        "stage": stage,
                        "reason": reason,
                        "detail": json.dumps(detail, sort_keys=True),
                    }
                )
            if stage == "pii":
                for d in docs[::4]:
                    counts = {
                        "email": rng.randint(1, 3),
                        "ip_address": rng.randint(0, 2),
                        "key": rng.randint(0, 1),
                    }
                    pii_rows.append(
                        {
                            "id": d["id"],
                            "repo": d["max_stars_repo_name"],
                            "path": d["max_stars_repo_path"],
                            "lang": lang,
                            "stage": "pii",
                            "counts": json.dumps(counts, sort_keys=True),
                        }
                    )
                    d["pii_redacted"] = True
            stage_stats[stage_index]["langs"][lang] = row
        for d in docs:
            d.setdefault("pii_redacted", False)
            d["comment_ratio"] = rng.uniform(0.01, 0.8)
        lang_dir = out / "data" / lang
        lang_dir.mkdir(parents=True, exist_ok=True)
        for shard in range(shards):
            part = docs[shard::shards]
            pq.write_table(
                pa.Table.from_pylist(part), lang_dir / f"train-{shard:05d}-of-{shards:05d}.parquet"
            )
    for stage, rows in removed_rows.items():
        if rows:
            folder = out / "removed" / stage
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows), folder / "part-00000-of-00001.parquet")
    (out / "modified" / "pii").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(pii_rows), out / "modified" / "pii" / "part-00000-of-00001.parquet")
    stats = {
        "stages": stage_stats,
        "input": {
            "locations": ["hf://datasets/bigcode/the-stack-dedup/data/python/*.parquet"],
            "schemes": ["hf"],
            "files": 4,
            "file_bytes": 123_456_789,
            "docs": len(all_ids),
            "bytes": input_bytes,
            "ids_digest": ids_digest(all_ids),
        },
        "config": CONFIG,
        "preset": "santacoder",
        "versions": {"apache-beam": "2.77.0", "pyarrow": pa.__version__},
        "wall_time_s": 12.5,
        "runner": "FnApiRunner",
        "argv": ["--input", "IN", "--output", str(out)],
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats
