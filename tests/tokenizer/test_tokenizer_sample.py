"""The per-language training sample: exact sizes, seed-determinism, and 'fewer rows than asked'."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokenizer.sample_data import main, run_sample, sample_priority, select_sample


def _rows(n_python: int, n_java: int, n_js: int) -> list[dict]:
    rows = []
    for lang, n in (("Python", n_python), ("Java", n_java), ("JavaScript", n_js)):
        prefix = {"Python": "py", "Java": "ja", "JavaScript": "js"}[lang]
        rows += [{"id": f"{prefix}{i:018d}", "lang": lang, "content": f"// {lang} {i}\n"} for i in range(n)]
    return rows


@pytest.fixture(scope="module")
def sample_input(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample_in")
    rows = _rows(40, 25, 6)
    for k in range(3):  # three files, rows interleaved, so per-key sampling must merge across files
        part = rows[k::3]
        pq.write_table(pa.Table.from_pylist(part), root / f"part-{k}.parquet")
    return root, rows


def _read_sample(out_dir) -> list[dict]:
    return pq.read_table(sorted(out_dir.glob("sample-*.parquet"))).to_pylist()


def test_priority_is_a_seeded_hash():
    assert sample_priority(0, "abc") == sample_priority(0, "abc")
    assert sample_priority(0, "abc") != sample_priority(1, "abc")
    assert sample_priority(0, "abc")[1] == "abc"
    picks = select_sample([("py", f"id{i}") for i in range(100)], 10, seed=0)
    assert len(picks["py"]) == 10
    assert picks != select_sample([("py", f"id{i}") for i in range(100)], 10, seed=1)


def test_beam_sample_equals_the_reference_and_takes_all_of_short_languages(sample_input, tmp_path, caplog):
    root, rows = sample_input
    with caplog.at_level(logging.WARNING, logger="tokenizer.sample_data"):
        summary = run_sample(root, tmp_path / "s", rows_per_lang=10, seed=3)
    sample = _read_sample(tmp_path / "s")
    by_lang: dict[str, set[str]] = {}
    for row in sample:
        by_lang.setdefault(row["lang"], set()).add(row["id"])
    assert {lang: len(ids) for lang, ids in by_lang.items()} == {"python": 10, "java": 10, "javascript": 6}
    reference = select_sample(((r["lang"].lower(), r["id"]) for r in rows), 10, seed=3)
    assert by_lang == reference
    contents = {r["id"]: r["content"] for r in rows}
    assert all(row["content"] == contents[row["id"]] for row in sample)
    assert summary["rows"] == {"java": 10, "javascript": 6, "python": 10}
    assert summary["took_all"] == {"javascript": 6}
    assert json.loads((tmp_path / "s" / "sample_summary.json").read_text()) == summary
    assert "javascript has only 6 rows (< 10 asked): took all of them" in caplog.text


def test_cli_with_another_seed_gives_another_deterministic_sample(sample_input, tmp_path, capsys):
    root, rows = sample_input
    main(["--input", str(root), "--output", str(tmp_path / "c"), "--rows-per-lang", "5", "--seed", "11"])
    assert json.loads(capsys.readouterr().out)["rows"] == {"java": 5, "javascript": 5, "python": 5}
    ids = {r["id"] for r in _read_sample(tmp_path / "c")}
    reference = select_sample(((r["lang"].lower(), r["id"]) for r in rows), 5, seed=11)
    assert ids == set().union(*reference.values())
    assert ids != set().union(
        *select_sample(((r["lang"].lower(), r["id"]) for r in rows), 5, seed=3).values()
    )


def test_rows_without_id_or_lang_get_the_pipelines_id_and_language(tmp_path):
    """One id scheme and one language mapping: a row without ``id`` gets ``pipeline.ids.doc_id`` of its
    repo, path and content; without ``lang``, its folder's name mapped as the pipeline maps languages."""
    from pipeline.ids import doc_id
    from tokenizer.corpus import iter_text_batches
    from tokenizer.sample_data import to_sample_row

    folder = tmp_path / "JS"
    folder.mkdir()
    rows = [
        {"max_stars_repo_name": "o/r", "max_stars_repo_path": "a.js", "content": "let a = 1;\n"},
        {"max_stars_repo_name": None, "max_stars_repo_path": None, "content": "let b = 2;\n"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), folder / "part.parquet")
    expected = [doc_id("o/r", "a.js", "let a = 1;\n"), doc_id(None, None, "let b = 2;\n")]
    (batch,) = iter_text_batches([folder / "part.parquet"])
    assert batch.ids == expected and batch.langs == ["javascript", "javascript"]
    sampled = [to_sample_row((str(folder / "part.parquet"), row)) for row in rows]
    assert [r["id"] for r in sampled] == expected and {r["lang"] for r in sampled} == {"javascript"}
