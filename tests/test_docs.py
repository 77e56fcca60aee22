"""The docs run: every ```python block of README.md and docs/*.md runs on real pipeline outputs of the
sample (``OUT/`` in a snippet is that output), and every ``python -m`` command they show uses only options
the command knows. A block preceded by ``<!-- doc-test: skip (why) -->`` is left out. The shell commands of
the README's first block (``make run``) are run by CI itself."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SKIP = "<!-- doc-test: skip"
# Commands whose options the docs may show; those marked True also take Beam pipeline options.
PARSERS = {
    "pipeline.run": ("pipeline.arguments:run_parser", True),
    "samplegen.sample": ("samplegen.sample:build_parser", False),
    "ablation.ablate": ("ablation.ablate:build_parser", False),
    "release.publish": ("release.publish:build_parser", False),
    "pipeline.prepare_decontam": ("pipeline.prepare_decontam:build_parser", False),
    "pipeline.finish": ("pipeline.finish:build_parser", True),
    "tokenizer.sample_data": ("tokenizer.sample_data:build_parser", True),
    "tokenizer.train": ("tokenizer.train:build_parser", False),
    "tokenizer.tokenize": ("tokenizer.tokenize:build_parser", True),
    "tokenizer.fertility": ("tokenizer.fertility:build_parser", False),
    "model.train": ("model.train:build_parser", False),
    "model.evaluate": ("model.evaluate:build_parser", False),
}


def blocks(language: str | None = None) -> list[tuple[str, str]]:
    """(``page:line``, code) of the fenced blocks (of one language), skipped ones left out."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
            if (language is None or match.group(1) == language) and not before.startswith(SKIP):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{page.relative_to(ROOT)}:{line}", match.group(2)))
    return found


def test_there_are_snippets_to_run():
    assert len(blocks("python")) >= 2  # docs/filters.md's two re-deciding snippets at least


# --- python snippets on real outputs -------------------------------------------------------------------


def _run_pipeline(sample: Path, out: Path, extra: list[str]) -> Path:
    from pipeline.run import run

    run(
        ["--input", str(sample), "--output", str(out), "--no_report", "--quiet"]
        + ["--direct_running_mode", "in_memory", "--direct_num_workers", "1", *extra]
    )
    return out


@pytest.fixture(scope="module")
def outputs(sample_dir: Path, tmp_path_factory) -> dict[str, Path]:
    """The single-filter output (``--stages comments``, the columns of stack-base+comments) and the output of
    docs/filters.md's own command (stars, comments, fertility) with a tokenizer trained here on the sample."""
    from tokenizer.train import train_from_parquet

    root = tmp_path_factory.mktemp("docs")
    train_from_parquet(
        sorted(sample_dir.glob("*.parquet")), root / "tok", vocab_size=2000, show_progress=False
    )
    lenient = root / "lenient.yaml"  # a 2k-token BPE packs fewer characters per token than the 49k one
    lenient.write_text("stages:\n  fertility:\n    cutoffs: {python: 1.5, java: 1.5, javascript: 1.5}\n")
    return {
        "comments": _run_pipeline(sample_dir, root / "comments", ["--stages", "comments"]),
        "filters": _run_pipeline(
            sample_dir,
            root / "filters",
            [
                "--stages",
                "stars,comments,fertility",
                "--tokenizer",
                str(root / "tok"),
                "--config",
                str(lenient),
            ],
        ),
    }


@pytest.mark.parametrize("output", ["comments", "filters"])
def test_python_snippets_run_on_the_output(output, outputs, tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    import datasets.config

    (tmp_path / "OUT").symlink_to(outputs[output])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    namespaces = {}
    for where, code in blocks("python"):
        namespace: dict = {"__name__": "__doc_snippet__"}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' own code, on our own output
        namespaces[where] = (namespace, printed.getvalue())
    # docs/filters.md: the re-decided set and the stricter filter agree with the data they came from
    first, second = [namespaces[w] for w, _ in blocks("python") if w.startswith("docs/filters.md")][:2]
    ns = first[0]
    kept_ids, removed_ids = set(ns["kept"]["id"].to_pylist()), set(ns["removed"]["id"].to_pylist())
    assert ns["new_kept_ids"] and ns["new_kept_ids"] <= kept_ids | removed_ids
    ratios = [r for r in ns["kept"]["comment_ratio"].to_pylist() if r is not None]
    assert ns["stricter"].num_rows == sum(0.05 < r < 0.6 for r in ratios)
    namespace, printed = second
    assert "comments 0.05-0.6:" in printed
    assert ("fertile" in namespace) is (output == "filters")  # the fertility lines run only where it ran
    if output == "filters":
        tokens = sum(
            n
            for r, n in zip(
                namespace["python"]["char_token_ratio"], namespace["python"]["num_tokens"], strict=True
            )
            if r >= 3.0
        )
        assert f"{tokens} tokens" in printed


# --- commands shown in the docs use options that exist ---------------------------------------------------


def _commands() -> list[tuple[str, str, list[str]]]:
    """(where, module, argument words) of every ``python -m MODULE ...`` line of every fenced block."""
    found = []
    for where, code in blocks():
        for line in code.replace("\\\n", " ").splitlines():
            match = re.search(r"python -m ([\w.]+)(.*)", line)
            if match and match.group(1) in PARSERS:
                words = shlex.split(match.group(2).split("#", 1)[0].replace("[", " ").replace("]", " "))
                found.append((where, match.group(1), words))
    return found


def test_commands_in_the_docs_use_known_options():
    from cli.command import beam_parser, option_names

    commands = _commands()
    assert {module for _, module, _ in commands} >= {"pipeline.run", "samplegen.sample", "model.train"}
    for where, module, words in commands:
        target, beam = PARSERS[module]
        module_name, function = target.split(":")
        build = getattr(importlib.import_module(module_name), function, None)
        if build is None:
            continue  # a command still on plain argparse: test_cli covers it once it has build_parser
        parser = build()
        ours = option_names(parser)
        known = option_names(parser, beam_parser(parser.prog)) if beam else ours
        for word in words:
            option = word.split("=", 1)[0]
            if option.startswith("--") and option != "--":
                assert option in known, f"{where}: python -m {module} has no option {option}"
                if where.startswith("README.md") and option in ours:  # Beam keeps aliases of its own
                    assert ours[option] == option, f"{where}: spell {option} as {ours[option]}"
