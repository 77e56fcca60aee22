"""Load benchmark strings from the Hugging Face Hub (default) or a local directory of original files.

Hub: ``datasets.load_dataset`` (downloads are cached by ``datasets`` in
``HF_HOME``; strings are also cached per process). Local: the original file
layouts, as in ``../shared/benchmarks`` (see its README)::

    humaneval/HumanEval.jsonl.gz          openai/human-eval
    mbpp/mbpp.jsonl                       google-research mbpp (full, 974 tasks)
    apps/<split>/<problem>/question.txt   APPS per-problem layout (+ solutions.json)
    apps/<split>.jsonl                    or the Hub's codeparrot/apps jsonl layout
    multipl-e/<src>-<lang>-<variant>.jsonl  nuprl/MultiPL-E prompts/

A local directory is matched as found: every APPS problem in it (whatever the
split folder) and every MultiPL-E variant file of the chosen languages.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decontam.strings import (
    APPS,
    BENCHMARKS,
    HUMANEVAL,
    HUMANEVAL_WHITELIST,
    MBPP,
    MULTIPL_E,
    BenchmarkString,
    apps_strings,
    humaneval_strings,
    mbpp_strings,
    multipl_e_strings,
)

log = logging.getLogger(__name__)

# MultiPL-E language codes for the pipeline's languages.
MULTIPL_E_LANGS = {"python": "py", "java": "java", "javascript": "js"}
_MULTIPL_E_NAME = re.compile(r"^(humaneval|mbpp)-(\w+?)(?:-(keep|remove|reworded|transform))?$")


@dataclass(frozen=True)
class HubIds:
    """Where each benchmark lives on the Hub. Tests point these at local folders or files."""

    humaneval: str = "openai/openai_humaneval"  # formerly "openai_humaneval"
    mbpp: str = "google-research-datasets/mbpp"  # formerly "mbpp"; config "full"
    apps_files: str = "hf://datasets/codeparrot/apps/{split}.jsonl"  # raw jsonl: the repo is script-based
    multipl_e: str = "nuprl/MultiPL-E"  # configs "<humaneval|mbpp>-<lang>[-<variant>]"


def read_jsonl(path: Path) -> Iterator[dict]:
    """Rows of a ``.jsonl`` or ``.jsonl.gz`` file; a bad line is an error naming file and line."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {err}") from err


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"benchmark file not found: {path}")
    return path


# ---------------------------------------------------------------- local files


def local_humaneval(root: Path) -> list[dict]:
    folder = root / "humaneval"
    candidates = [folder / "HumanEval.jsonl.gz", folder / "HumanEval.jsonl"]
    path = next((p for p in candidates if p.exists()), None)
    return list(read_jsonl(_require(path or candidates[0])))


def local_mbpp(root: Path) -> list[dict]:
    return list(read_jsonl(_require(root / "mbpp" / "mbpp.jsonl")))


def apps_problem_dir(problem: Path, split: str, with_solutions: bool = True) -> list[BenchmarkString]:
    """One problem in the original APPS layout (``question.txt`` + optional ``solutions.json``)."""
    question = (problem / "question.txt").read_text(encoding="utf-8")
    solutions_file = problem / "solutions.json"
    solutions = json.loads(solutions_file.read_text(encoding="utf-8")) if solutions_file.exists() else []
    return apps_strings(f"{split}/{problem.name}", question, solutions, with_solutions)


def apps_rows(rows: Iterable[dict], split: str, with_solutions: bool = True) -> list[BenchmarkString]:
    """Rows of the Hub's ``codeparrot/apps`` jsonl (``problem_id`` or ``id``, ``question``, ``solutions``)."""
    out = []
    for row in rows:
        pid = row.get("problem_id", row.get("id"))
        task = f"{split}/{int(pid):04d}" if isinstance(pid, int) or str(pid).isdigit() else f"{split}/{pid}"
        out.extend(apps_strings(task, row["question"], row.get("solutions"), with_solutions))
    return out


def local_apps(root: Path, with_solutions: bool = True) -> list[BenchmarkString]:
    folder = _require(root / "apps")
    out: list[BenchmarkString] = []
    for jsonl in sorted([*folder.glob("*.jsonl"), *folder.glob("*.jsonl.gz")]):
        out.extend(apps_rows(read_jsonl(jsonl), jsonl.name.split(".")[0], with_solutions))
    for question in sorted(folder.glob("*/*/question.txt")):
        out.extend(apps_problem_dir(question.parent, question.parent.parent.name, with_solutions))
    return out


def local_multipl_e(root: Path, languages: Sequence[str]) -> list[BenchmarkString]:
    codes = {MULTIPL_E_LANGS[lang] for lang in languages}
    out: list[BenchmarkString] = []
    for path in sorted(_require(root / "multipl-e").glob("*.jsonl")):
        m = _MULTIPL_E_NAME.match(path.name[: -len(".jsonl")])
        if m and m.group(2) in codes:
            out.extend(multipl_e_strings(read_jsonl(path), m.group(3) or "reworded"))
    return out


# ---------------------------------------------------------------- the Hub


def _load_dataset(*args: Any, **kwargs: Any) -> Any:
    import datasets  # imported late: workers that only read local files never pay for it

    return datasets.load_dataset(*args, **kwargs)


def hub_humaneval(ids: HubIds) -> list[dict]:
    return list(_load_dataset(ids.humaneval, split="test"))


def hub_mbpp(ids: HubIds) -> list[dict]:
    """All splits of the ``full`` config; :func:`mbpp_strings` keeps ids 11-510 (the test split)."""
    splits = _load_dataset(ids.mbpp, "full")
    return [row for name in sorted(splits) for row in splits[name]]


def hub_apps(ids: HubIds, split: str = "test", with_solutions: bool = True) -> list[BenchmarkString]:
    rows = _load_dataset("json", data_files=ids.apps_files.format(split=split), split="train")
    return apps_rows(rows, split, with_solutions)


def hub_multipl_e(ids: HubIds, languages: Sequence[str]) -> list[BenchmarkString]:
    """Every config of the chosen languages (default ``reworded`` plus ``keep``/``remove``/``transform``)."""
    import datasets

    codes = {MULTIPL_E_LANGS[lang] for lang in languages}
    out: list[BenchmarkString] = []
    for name in sorted(datasets.get_dataset_config_names(ids.multipl_e)):
        m = _MULTIPL_E_NAME.match(name)
        if not m or m.group(2) not in codes:
            continue
        out.extend(
            multipl_e_strings(_load_dataset(ids.multipl_e, name, split="test"), m.group(3) or "reworded")
        )
    found = {s.field.split(":")[1] for s in out}
    for code in sorted(codes):
        lang = next(k for k, v in MULTIPL_E_LANGS.items() if v == code)
        if lang not in found:
            log.warning("MultiPL-E has no %s (%s) prompts in %s; skipped", lang, code, ids.multipl_e)
    return out


# ---------------------------------------------------------------- entry point


def _local_root(source: str) -> Path:
    """A benchmarks folder on an object store (``gs://``, ``s3://``: a key prefix) is copied to a
    temporary folder once per process (the result is cached below); a local one is used as it is."""
    if "://" not in source or source.startswith("file://"):
        return Path(source.removeprefix("file://"))
    from apache_beam.io.filesystems import FileSystems

    base = source.rstrip("/") + "/"
    found = FileSystems.match([base + "**"])[0].metadata_list
    if not found:
        raise FileNotFoundError(f"benchmarks directory not found: {source} (no file under that prefix)")
    target = Path(tempfile.mkdtemp(prefix="stackcurate-benchmarks-"))
    for meta in found:
        local = target / meta.path[len(base) :]
        local.parent.mkdir(parents=True, exist_ok=True)
        with FileSystems.open(meta.path, compression_type="uncompressed") as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return target


def load_benchmark_strings(
    benchmarks: Sequence[str] = BENCHMARKS,
    source: str = "hub",
    *,
    whitelist: Sequence[str] = HUMANEVAL_WHITELIST,
    apps_solutions: bool = True,
    apps_split: str = "test",
    multipl_e_languages: Sequence[str] = tuple(MULTIPL_E_LANGS),
    hub_ids: HubIds = HubIds(),
) -> list[BenchmarkString]:
    """Every string to search for, in a stable order (benchmark order, then file order).

    ``source`` is ``"hub"``, a local directory or one on an object store. Results are cached per process.
    """
    return list(
        _load_cached(
            tuple(benchmarks),
            source,
            tuple(whitelist),
            apps_solutions,
            apps_split,
            tuple(multipl_e_languages),
            hub_ids,
        )
    )


@functools.lru_cache(maxsize=4)
def _load_cached(
    benchmarks: tuple[str, ...],
    source: str,
    whitelist: tuple[str, ...],
    apps_solutions: bool,
    apps_split: str,
    languages: tuple[str, ...],
    hub_ids: HubIds,
) -> tuple[BenchmarkString, ...]:
    unknown = [b for b in benchmarks if b not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    bad_langs = [lang for lang in languages if lang not in MULTIPL_E_LANGS]
    if bad_langs:
        raise ValueError(f"unknown MultiPL-E language(s) {bad_langs}; known: {', '.join(MULTIPL_E_LANGS)}")
    hub = source == "hub"
    root = Path(source) if hub else _local_root(source)
    if not hub and not root.is_dir():
        raise FileNotFoundError(f"benchmarks directory not found: {source}")
    out: list[BenchmarkString] = []
    for bench in BENCHMARKS:
        if bench not in benchmarks:
            continue
        if bench == HUMANEVAL:
            out += humaneval_strings(hub_humaneval(hub_ids) if hub else local_humaneval(root), whitelist)
        elif bench == MBPP:
            out += mbpp_strings(hub_mbpp(hub_ids) if hub else local_mbpp(root))
        elif bench == APPS:
            out += hub_apps(hub_ids, apps_split, apps_solutions) if hub else local_apps(root, apps_solutions)
        elif bench == MULTIPL_E:
            out += hub_multipl_e(hub_ids, languages) if hub else local_multipl_e(root, languages)
    return tuple(out)
