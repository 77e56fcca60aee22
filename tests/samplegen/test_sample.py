"""The sample builder: real code, Stack schema, deterministic bytes, and a truth.json that is the whole truth."""

from __future__ import annotations

import glob
import hashlib
import ipaddress
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dedup.minhash import jaccard
from pipeline.ids import doc_id, line_stats, reference_line_stats
from samplegen import cases, sample

SHARED = sample.SHARED  # the checkout's shared/ or its parent's
BENCH = SHARED / "benchmarks"
OPTOUT = SHARED / "optout" / "optouts.jsonl"
SIZE_MB = 2
STACK_COLUMNS = [
    "hexsha",
    "size",
    "ext",
    "lang",
    "max_stars_repo_path",
    "max_stars_repo_name",
    "max_stars_repo_head_hexsha",
    "max_stars_repo_licenses",
    "max_stars_count",
    "max_stars_repo_stars_event_min_datetime",
    "content",
    "avg_line_length",
    "max_line_length",
    "alphanum_fraction",
]


def _build(path: Path, seed: int = 0) -> Path:
    return sample.build_sample(
        path,
        size_mb=SIZE_MB,
        seed=seed,
        benchmarks_dir=BENCH if BENCH.exists() else "",
        optout_list=OPTOUT if OPTOUT.exists() else None,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("sample_a"))


@pytest.fixture(scope="module")
def rows(built) -> dict[str, dict]:
    table = [r for f in sorted(glob.glob(str(built / "*.parquet"))) for r in pq.read_table(f).to_pylist()]
    by_id = {doc_id(r["max_stars_repo_name"], r["max_stars_repo_path"], r["content"]): r for r in table}
    assert len(by_id) == len(table), "ids must be unique"
    return by_id


@pytest.fixture(scope="module")
def bad_rows(built) -> dict[str, dict]:
    lines = (built / "bad.jsonl").read_text(encoding="ascii").splitlines()
    parsed = [json.loads(line) for line in lines]
    return {doc_id(r["max_stars_repo_name"], r["max_stars_repo_path"], r["content"]): r for r in parsed}


@pytest.fixture(scope="module")
def truth(built) -> dict:
    return json.loads((built / "truth.json").read_text(encoding="utf-8"))


def _planted_ids(truth: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for case, entries in truth.items():
        for entry in entries:
            if case == "exact_dup":
                ids = entry
            elif case == "near_dup":
                ids = [entry["a"], entry["b"]]
            else:
                ids = [entry["id"]]
            for i in ids:
                assert out.setdefault(i, case) == case, f"{i} planted for {out[i]} and {case}"
    return out


def test_same_seed_gives_identical_bytes(built, tmp_path):
    again = _build(tmp_path / "again")
    names = sorted(p.name for p in built.glob("*") if p.name != "sample_info.json")
    assert names == sorted(p.name for p in again.glob("*") if p.name != "sample_info.json")
    assert len([n for n in names if n.endswith(".parquet")]) >= 2
    for name in names:
        assert (built / name).read_bytes() == (again / name).read_bytes(), name


def test_size_is_roughly_as_asked(built, rows):
    content_bytes = sum(r["size"] for r in rows.values())
    assert abs(content_bytes - SIZE_MB * 1_000_000) < 0.05 * SIZE_MB * 1_000_000
    info = json.loads((built / "sample_info.json").read_text())
    assert info["content_bytes"] == content_bytes and "synthetic" in info["note"]


def test_schema_and_derived_columns(built, rows, bad_rows):
    for path in sorted(built.glob("*.parquet")):
        assert pq.read_schema(path).names == STACK_COLUMNS
    for row in list(rows.values()) + list(bad_rows.values()):
        assert list(row) == STACK_COLUMNS
        data = row["content"].encode("utf-8", "surrogatepass")
        assert row["size"] == len(data)
        assert row["hexsha"] == hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
        assert (row["avg_line_length"], row["max_line_length"], row["alphanum_fraction"]) == line_stats(
            row["content"]
        )
        assert row["lang"] in {"Python", "Java", "JavaScript"}
        assert row["max_stars_repo_path"].endswith("." + row["ext"])
        assert isinstance(row["max_stars_repo_licenses"], list)
    for row in rows.values():
        assert re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", row["max_stars_repo_name"])
        assert (row["max_stars_count"] is None) == (row["max_stars_repo_stars_event_min_datetime"] is None)


def test_fast_line_stats_is_bit_identical():
    for text in ["", "a", "\n\n", "x = 1\r\ny\rz\n", "é½²①٣_ ab\u2028c", "caf\udc80", "\x00\x01 ab", "é" * 3]:
        assert line_stats(text) == reference_line_stats(text), repr(text)


def test_real_code_from_every_source_on_this_machine(rows):
    sources = sample.find_sources()
    missing = [lang for lang in ("Python", "JavaScript", "Java") if lang not in sources]
    if missing:
        pytest.skip(f"no {missing} sources on this machine")
    assert "site-packages" not in str(sources["Python"].location)
    bytes_by_lang = Counter()
    for row in rows.values():
        bytes_by_lang[row["lang"]] += row["size"]
    total = sum(bytes_by_lang.values())
    for lang in ("Python", "JavaScript", "Java"):
        assert 0.25 < bytes_by_lang[lang] / total < 0.42, (lang, bytes_by_lang)


def test_star_distribution_is_heavy_tailed(rows):
    by_repo = {r["max_stars_repo_name"]: r["max_stars_count"] for r in rows.values()}
    stars = list(by_repo.values())
    assert 0.1 < sum(s is None for s in stars) / len(stars) < 0.35
    assert 0.25 < sum(s is not None and s < 5 for s in stars) / len(stars) < 0.7
    assert sum(s is not None and s >= 5 for s in stars) / len(stars) > 0.1
    assert max(s or 0 for s in stars) > 100


def test_truth_categories_and_ids(truth, rows, bad_rows):
    planted = _planted_ids(truth)  # also asserts each doc is planted for one case only
    assert [len(truth[k]) for k in ("optout", "exact_dup", "near_dup", "basic", "pii", "invalid")] == [
        10,
        20,
        40,
        9,
        30,
        5,
    ]
    assert len(truth["decontam"]) == (15 if BENCH.exists() else 0)
    for i, case in planted.items():
        assert i in (bad_rows if case == "invalid" else rows), (case, i)
    assert set(bad_rows) == {e["id"] for e in truth["invalid"]}


def test_near_dup_jaccards_match_a_recomputation(truth, rows):
    def grams(text: str, n: int) -> set[str]:
        tokens = [t for t in re.split(r"[^A-Za-z_0-9]+", text) if t]
        return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}

    def jac(a: set, b: set) -> float:
        return len(a & b) / len(a | b)

    j5s = []
    for pair in truth["near_dup"]:
        a, b = rows[pair["a"]]["content"], rows[pair["b"]]["content"]
        assert a != b and a.count("\n") >= 79
        assert pair["jaccard5"] == jac(grams(a, 5), grams(b, 5))
        assert pair["jaccard1"] == jac(grams(a, 1), grams(b, 1))
        j5s.append(pair["jaccard5"])
    assert all(0.48 <= j < 1 for j in j5s)
    assert (
        sum(j < 0.68 for j in j5s) >= 8
        and sum(j >= 0.7 for j in j5s) >= 25
        and sum(j >= 0.85 for j in j5s) >= 15
    )


def test_exact_dup_groups_are_identical_and_only_there(truth, rows):
    content_count = Counter(r["content"] for r in rows.values())
    star_patterns = Counter()
    for group in truth["exact_dup"]:
        assert 2 <= len(group) <= 4
        contents = {rows[i]["content"] for i in group}
        assert len(contents) == 1 and content_count[contents.pop()] == len(group)
        assert len({rows[i]["max_stars_repo_name"] for i in group}) == len(group)
        stars = sorted((rows[i]["max_stars_count"] or 0 for i in group), reverse=True)
        star_patterns["tie" if stars[0] == stars[1] else "distinct"] += 1
    assert star_patterns["tie"] >= 5 and star_patterns["distinct"] >= 5
    assert sum(content_count.values()) - len(content_count) == sum(len(g) - 1 for g in truth["exact_dup"])


def test_optout_rows_match_their_entry_and_no_other_row_does(truth, rows):
    owners, repos = sample.read_optout_list(OPTOUT) if OPTOUT.exists() else ([], [])
    entries = {e.lower() for e in owners + repos}
    case_changed = 0
    for item in truth["optout"]:
        repo = rows[item["id"]]["max_stars_repo_name"]
        assert item["entry"] in owners + repos
        assert item["entry"].lower() in (repo.lower(), repo.split("/")[0].lower())
        case_changed += item["entry"] not in (repo, repo.split("/")[0])
    assert case_changed >= 8
    planted = {item["id"] for item in truth["optout"]}
    if entries:
        for i, row in rows.items():
            repo = row["max_stars_repo_name"].lower()
            assert (i in planted) == (repo in entries or repo.split("/")[0] in entries)


def test_basic_cases_break_exactly_one_rule_and_nothing_else_does(truth, rows):
    def broken(row: dict) -> list[str]:
        rules = {
            "max_line_length": row["max_line_length"] > 1000,
            "avg_line_length": row["avg_line_length"] > 100,
            "alphanum_fraction": row["alphanum_fraction"] < 0.25,
        }
        return [rule for rule, bad in rules.items() if bad]

    expected = {item["id"]: [item["reason"]] for item in truth["basic"]}
    assert Counter(r[0] for r in expected.values()) == {
        "max_line_length": 3,
        "avg_line_length": 3,
        "alphanum_fraction": 3,
    }
    for i, row in rows.items():
        assert broken(row) == expected.get(i, []), i


def test_pii_values_are_planted_in_real_formats(truth, rows):
    kinds = Counter()
    for item in truth["pii"]:
        value = item["value"]
        assert value in rows[item["id"]]["content"]
        if item["type"] == "email":
            assert re.fullmatch(r"[a-z.0-9]+@[a-z]+\.[a-z]+", value)
        elif item["type"] == "ip_address":
            assert ipaddress.ip_address(value).is_global
            kinds[f"ipv{ipaddress.ip_address(value).version}"] += 1
        for name, pattern in {
            "aws": r"AKIA[A-Z0-9]{16}",
            "github": r"ghp_[A-Za-z0-9]{36}",
            "slack": r"xoxb-\d+-\d+-[A-Za-z0-9]+",
            "stripe": r"sk_live_[A-Za-z0-9]{24}",
            "private_key": r"-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----",
            "generic": r"[A-Za-z0-9]{40}",
        }.items():
            kinds[name] += item["type"] == "key" and re.fullmatch(pattern, value) is not None
        kinds[item["type"]] += 1
    assert kinds["email"] == 8 and kinds["ip_address"] == 9 and kinds["ipv4"] == 5 and kinds["ipv6"] == 4
    assert kinds["key"] == 13 and all(
        kinds[k] >= 2 for k in ("aws", "github", "slack", "stripe", "private_key", "generic")
    )


@pytest.mark.skipif(not BENCH.exists(), reason="no shared benchmarks")
def test_decontam_docs_hold_their_benchmark_text_and_no_other_doc_holds_any(truth, rows, bad_rows):
    records = sample.load_benchmark_records(BENCH)
    screen = sample.Screen(sample.benchmark_strings(records))
    planted = {item["id"]: item for item in truth["decontam"]}
    assert Counter(i["benchmark"] for i in planted.values()) == {
        "humaneval": 5,
        "mbpp": 4,
        "apps": 2,
        "multipl-e": 4,
    }
    assert {i["case"] for i in planted.values()} == {"verbatim", "upper", "lower"}
    mbpp_ids = [i["task_id"] for i in planted.values() if i["benchmark"] == "mbpp"]
    assert all(11 <= t <= 510 for t in mbpp_ids)
    he_tasks = {r["task_id"] for r in records["humaneval"]}
    assert all(i["task_id"] in he_tasks for i in planted.values() if i["benchmark"] == "humaneval")
    for i, row in list(rows.items()) + list(bad_rows.items()):
        hits = screen.bench_hits(row["content"])
        if i in planted:
            assert hits == {(planted[i]["benchmark"], planted[i]["task_id"])}
        else:
            assert not hits, (i, hits)


def test_bad_rows_cover_each_problem(built, truth, bad_rows):
    problem = {item["id"]: item["problem"] for item in truth["invalid"]}
    assert sorted(problem.values()) == ["binary", "empty", "null_repo", "oversized", "undecodable"]
    assert "\\udc80" in (built / "bad.jsonl").read_text(encoding="ascii")
    for i, row in bad_rows.items():
        content = row["content"]
        if problem[i] == "undecodable":
            with pytest.raises(UnicodeEncodeError):
                content.encode("utf-8")
        elif problem[i] == "binary":
            assert content.count("\x00") > 500
        elif problem[i] == "empty":
            assert content == "" and row["size"] == 0
        elif problem[i] == "null_repo":
            assert row["max_stars_repo_name"] is None and content.strip()
        else:
            assert row["size"] > 1 << 20 and cases.passes_basic(content)


def test_no_unplanted_near_duplicates(truth, rows):
    planted = _planted_ids(truth)
    sigs = {
        i: (r["lang"], *(cases.shingles(r["content"], n) for n in (5, 1)))
        for i, r in rows.items()
        if planted.get(i) not in ("near_dup", "exact_dup")
    }
    worst5 = worst1 = 0.0
    for (_, (lang_a, a5, a1)), (_, (lang_b, b5, b1)) in itertools.combinations(sigs.items(), 2):
        if lang_a == lang_b:
            worst5 = max(worst5, jaccard(a5, b5))
            worst1 = max(worst1, jaccard(a1, b1))
    assert worst5 < 0.6 and worst1 < 0.8, (worst5, worst1)


def test_cli_help_says_metadata_is_synthetic(capsys):
    with pytest.raises(SystemExit) as done:
        sample.main(["--help"])
    assert done.value.code == 0
    assert "synthetic" in capsys.readouterr().out


def test_missing_language_and_no_shared_data_still_build(tmp_path):
    out = sample.build_sample(
        tmp_path / "s", size_mb=1, seed=3, benchmarks_dir="", optout_list="", java_dir=tmp_path / "no_java"
    )
    info = json.loads((out / "sample_info.json").read_text())
    assert info["missing_languages"] == ["Java"] and set(info["per_language"]) == {"Python", "JavaScript"}
    truth = json.loads((out / "truth.json").read_text())
    assert truth["decontam"] == [] and len(truth["near_dup"]) == 40
    listed = set((out / "optouts.txt").read_text().split())
    assert {item["entry"] for item in truth["optout"]} <= listed and len(truth["optout"]) == 10
