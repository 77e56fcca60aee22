"""The layout rules of docs/architecture.md, checked on the tree: who may import whom, module sizes, shares."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_MODULE_LINES = 450
MAX_PIPELINE_SHARE = 0.30

# package -> the packages of ours it may import (docs/architecture.md, "Packages").
MAY_IMPORT: dict[str, set[str]] = {
    "cli": set(),
    # filters, pii, decontam -> dedup: only dedup.minhash.compiled, how every kernel of ours is compiled and cached
    "filters": {"cli", "dedup"},
    "pii": {"cli", "dedup"},
    "dedup": {"cli"},
    "decontam": {"cli", "dedup"},
    "tokenizer": {"cli", "pipeline"},
    "model": {"cli", "tokenizer", "decontam", "pipeline"},
    "pipeline": {"cli", "filters", "pii", "dedup", "decontam", "tokenizer", "model", "release"},
    "release": {"cli", "pipeline"},
    "samplegen": {"cli", "pipeline", "dedup", "filters"},
    "ablation": {"cli", "pipeline", "tokenizer", "model", "release"},
}
# pipeline -> release is only its two commands finishing an output (report, card, publish).
PIPELINE_MODULES_USING_RELEASE = {"pipeline/job.py", "pipeline/finish.py"}


def _production_files() -> list[Path]:
    return [
        path
        for package in MAY_IMPORT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "fixtures" not in path.relative_to(ROOT).parts
    ]


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, imported name or '') for every absolute import in the file, wherever it sits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_packages_import_only_what_the_map_allows():
    wrong = []
    for path in _production_files():
        rel = path.relative_to(ROOT).as_posix()
        package = rel.split("/")[0]
        for module, _ in _imports(path):
            top = module.split(".")[0]
            if top == "tests" or top == "bench":
                wrong.append(f"{rel} imports {module}: production code never reads tests/ or bench/")
            elif top in MAY_IMPORT and top != package and top not in MAY_IMPORT[package]:
                wrong.append(f"{rel} imports {module}")
            elif package == "pipeline" and top == "release" and rel not in PIPELINE_MODULES_USING_RELEASE:
                wrong.append(f"{rel} imports {module}: only pipeline.job and pipeline.finish call release")
    assert wrong == []


def test_no_private_name_crosses_a_module():
    wrong = []
    for path in _production_files():
        for module, name in _imports(path):
            if module.split(".")[0] in MAY_IMPORT and name.startswith("_") and not name.startswith("__"):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}.{name}")
    assert wrong == []


def test_no_module_over_the_size_bound():
    files = [
        p for p in ROOT.rglob("*.py") if not {".venv", ".cache", "fixtures"} & set(p.relative_to(ROOT).parts)
    ]
    long = {
        str(p.relative_to(ROOT)): n
        for p in files
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_pipeline_is_at_most_its_share_of_the_code():
    files = [
        p
        for p in ROOT.rglob("*.py")
        if not {".venv", ".cache", "tests", "fixtures"} & set(p.relative_to(ROOT).parts)
    ]
    lines = {p: len(p.read_text().splitlines()) for p in files}
    pipeline = sum(n for p, n in lines.items() if p.relative_to(ROOT).parts[0] == "pipeline")
    assert pipeline / sum(lines.values()) <= MAX_PIPELINE_SHARE


def test_kernel_users_take_only_the_compile_helper_from_dedup():
    """filters, pii and decontam may import dedup for one thing: how our numba kernels are compiled and cached."""
    wrong = []
    for path in _production_files():
        if path.relative_to(ROOT).parts[0] not in ("filters", "pii", "decontam"):
            continue
        for module, name in _imports(path):
            if module.split(".")[0] == "dedup" and (module, name) != ("dedup.minhash", "compiled"):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}.{name}")
    assert wrong == []
