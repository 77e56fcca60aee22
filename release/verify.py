"""Check an output directory against the ledger invariant before anyone trusts (or publishes) it.

The invariant (DESIGN.md): for every stage and language, docs in = docs out +
docs removed; stages chain (one stage's output is the next one's input); and
the ids in ``data/`` and ``removed/`` together are exactly the input ids.

The id check streams only the ``id`` column and compares a count and an
order-independent digest (sum of 128-bit BLAKE2b hashes mod 2**128) with the
ones ``stats.json`` recorded for the input, so it needs O(1) memory on 268 GB.
A sum (not an xor) is used so a duplicated id does not cancel itself out: a
missing id plus a duplicated one only goes unnoticed if two 128-bit hashes
collide.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pipeline import store
from pipeline.ids import digest_sum, format_digest
from pipeline.output_files import STATS_FILE, iter_column, load_stats, parquet_files


def _stage_problems(stats: dict) -> list[str]:
    """docs_in = docs_out + removed per stage and language, and stages chain."""
    problems: list[str] = []
    previous_out: dict[str, int] | None = None
    previous_name = "input"
    for stage in stats.get("stages", []):
        name = stage.get("name", "?")
        langs = stage.get("langs", {})
        for lang, row in sorted(langs.items()):
            removed = sum(int(r.get("docs", 0)) for r in row.get("removed", {}).values())
            docs_in, docs_out = int(row.get("docs_in", 0)), int(row.get("docs_out", 0))
            if docs_in != docs_out + removed:
                problems.append(
                    f"stage {name}/{lang}: docs_in {docs_in} != docs_out {docs_out} + removed {removed}"
                )
        current_in = {lang: int(row.get("docs_in", 0)) for lang, row in langs.items()}
        if previous_out is not None:
            for lang in sorted(set(previous_out) | set(current_in)):
                if previous_out.get(lang, 0) != current_in.get(lang, 0):
                    problems.append(
                        f"stage {name}/{lang}: docs_in {current_in.get(lang, 0)} != "
                        f"{previous_name} docs_out {previous_out.get(lang, 0)}"
                    )
        previous_out = {lang: int(row.get("docs_out", 0)) for lang, row in langs.items()}
        previous_name = name
    input_docs = stats.get("input", {}).get("docs")
    first = stats.get("stages", [{}])[0] if stats.get("stages") else None
    if first is not None and input_docs is not None:
        first_in = sum(int(r.get("docs_in", 0)) for r in first.get("langs", {}).values())
        if first_in != int(input_docs):
            problems.append(f"stage {first.get('name')}: docs_in {first_in} != input docs {input_docs}")
    return problems


class _IdTally:
    """Counts and sums the id hashes of every row read through :meth:`batches` (data and ledger alike)."""

    def __init__(self) -> None:
        self.count = self.total = 0

    def batches(self, folder: str, columns: list[str]) -> Iterator[dict[str, list]]:
        for batch in iter_column(parquet_files(folder), ["id", *columns]):
            self.count += len(batch["id"])
            self.total += digest_sum(batch["id"])
            yield batch


def _file_problems(out_dir: str, stats: dict) -> list[str]:
    """Row counts on disk match stats, and data ∪ removed ids match the input's count and digest."""
    problems: list[str] = []
    stages = stats.get("stages", [])
    ids = _IdTally()

    last_out = {
        lang: int(row.get("docs_out", 0)) for lang, row in (stages[-1]["langs"] if stages else {}).items()
    }
    data_counts: Counter[str] = Counter()
    data = store.join(out_dir, "data")
    for lang in store.subfolders(data, ".parquet"):
        for batch in ids.batches(store.join(data, lang), []):
            data_counts[lang] += len(batch["id"])
    for lang in sorted(set(last_out) | set(data_counts)):
        if last_out.get(lang, 0) != data_counts.get(lang, 0):
            problems.append(
                f"data/{lang}: {data_counts.get(lang, 0)} rows on disk, stats say {last_out.get(lang, 0)}"
            )

    for stage in stages:
        name = stage.get("name", "?")
        expected: Counter[tuple[str, str]] = Counter()
        for lang, row in stage.get("langs", {}).items():
            for reason, removed in row.get("removed", {}).items():
                if int(removed.get("docs", 0)):
                    expected[(lang, reason)] += int(removed["docs"])
        found: Counter[tuple[str, str]] = Counter()
        for batch in ids.batches(store.join(out_dir, "removed", name), ["lang", "reason"]):
            found.update(zip(batch["lang"], batch["reason"], strict=True))
        for key in sorted(set(expected) | set(found)):
            if expected.get(key, 0) != found.get(key, 0):
                problems.append(
                    f"removed/{name} {key[0]}/{key[1]}: {found.get(key, 0)} ledger rows, stats say {expected.get(key, 0)}"
                )
    known = {stage.get("name") for stage in stages}
    for stray in [n for n in store.subfolders(store.join(out_dir, "removed")) if n not in known]:
        problems.append(f"removed/{stray}: ledger of a stage that is not in stats.json")

    recorded = stats.get("input", {})
    if "docs" in recorded and ids.count != int(recorded["docs"]):
        problems.append(f"ids: data + removed hold {ids.count} rows, input had {recorded['docs']}")
    digest = format_digest(ids.total)
    if "ids_digest" not in recorded:
        problems.append("stats.json input.ids_digest is missing: cannot check ids against the input")
    elif digest != recorded["ids_digest"]:
        problems.append(
            f"ids: digest of data + removed ids {digest} != input ids_digest {recorded['ids_digest']} "
            "(an id was lost, duplicated or invented)"
        )
    return problems


def check_ledger(out_dir: str | Path) -> list[str]:
    """Every way ``out_dir`` breaks the ledger invariant, as readable sentences; empty when it holds."""
    out = str(out_dir)
    try:
        stats = load_stats(out)
    except (FileNotFoundError, json.JSONDecodeError) as err:
        return [str(err)]  # reported: a missing or broken stats.json is the first problem the check lists
    if not stats.get("stages"):
        return [f"{store.join(out, STATS_FILE)} has no stages"]
    return _stage_problems(stats) + _file_problems(out, stats)
