"""Publishing to a local fake Hub with the real huggingface_hub client, and loading it back with datasets.

The end-to-end test runs ``python -m release.publish`` and ``load_dataset`` in
subprocesses with their own environment (``HF_ENDPOINT`` pointing at the local
server, a throw-away ``HF_HOME``, proxies pointing at a dead port so nothing
can leave the machine), because both libraries read their endpoint and
offline flags at import time. The other tests call :func:`publish` in-process
with ``huggingface_hub.constants`` patched to the local server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.ids import ids_digest
from pipeline.output_files import parquet_files
from release.publish import PublishRefused, commit_batches, publish, shard_files
from release.verify import check_ledger
from tests.conftest import ROOT
from tests.pipeline.hub_server import HubServer
from tests.pipeline.ship_fixtures import LANGS, make_fake_output

TOKEN = "hf_ShipTestSecretToken0123456789abcdXYZ"
REPO = "curators/stack-sample"


def _offline_env(endpoint: str, home: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(home),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="0",
        HF_DATASETS_OFFLINE="0",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    if token:
        env["HF_TOKEN"] = token
    return env


@pytest.fixture
def hub(monkeypatch):
    """The fake Hub, with the in-process huggingface_hub pointed at it and the token in HF_TOKEN."""
    from huggingface_hub import constants

    with HubServer(TOKEN) as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield server


def _grep_token(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]


def test_publish_cli_then_load_dataset_roundtrip(tmp_path):
    out = tmp_path / "out"
    stats = make_fake_output(out)
    home = tmp_path / "hf_home"
    with HubServer(TOKEN) as server:
        env = _offline_env(server.endpoint, home)
        cli = [
            sys.executable,
            "-m",
            "release.publish",
            str(out),
            "--repo-id",
            REPO,
            "--files-per-commit",
            "2",
        ]
        published = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert published.returncode == 0, published.stderr[-3000:]
        load = (
            "import json\nfrom datasets import load_dataset\nresult = {}\n"
            f"for lang in {list(LANGS)!r}:\n"
            f"    ds = load_dataset({REPO!r}, lang, split='train')\n"
            "    result[lang] = sorted(ds['id'])\n"
            "print(json.dumps(result))\n"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", load], env=env, capture_output=True, text=True, timeout=180
        )
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        repo = server.repo(REPO)
        requests = list(server.state.requests)
        assert server.state.unhandled == []

    # One commit per batch of 2 shards (6 shards -> 3 commits), then the card commit.
    commits = repo.commits[1:]
    assert [len(c.added) for c in commits] == [2, 2, 2, 2]
    assert commits[-1].added == ["README.md", "stats.json"]
    files = set(repo.commits[-1].files)
    data = {f"data/{lang}/train-0000{i}-of-00002.parquet" for lang in LANGS for i in range(2)}
    assert files == data | {".gitattributes", "README.md", "stats.json"}  # no ledger by default
    assert all(repo.commits[-1].files[name].lfs for name in data)

    # What load_dataset reads back from the Hub is exactly what is in data/.
    ids = json.loads(loaded.stdout.strip().splitlines()[-1])
    last = stats["stages"][-1]["langs"]
    for lang in LANGS:
        assert len(ids[lang]) == last[lang]["docs_out"]
        local = pq.read_table(parquet_files(out / "data" / lang), columns=["id"]).column("id").to_pylist()
        assert ids[lang] == sorted(local)

    # The token was used (every write authorized) but never printed, logged or written.
    # (LFS PUTs go to a pre-signed storage URL and carry no token, as on the real Hub.)
    writes = [(m, p, ok) for m, p, ok in requests if m == "POST"]
    assert len(writes) >= 10 and all(ok for _, _, ok in writes)
    for text in (published.stdout, published.stderr, loaded.stdout, loaded.stderr):
        assert TOKEN not in text
    assert "6 shards uploaded in 4 commits" in published.stdout
    assert _grep_token(out) == []
    assert not any(TOKEN.encode() in f.data for f in repo.commits[-1].files.values())
    card = (out / "README.md").read_text()
    assert f'load_dataset("{REPO}", "java", split="train")' in card


def test_login_cache_token_is_used_and_never_printed(tmp_path):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=30)
    home = tmp_path / "hf_home"
    home.mkdir()
    (home / "token").write_text(TOKEN)  # what `hf auth login` writes
    with HubServer(TOKEN) as server:
        env = _offline_env(server.endpoint, home, token=None)
        cli = [sys.executable, "-m", "release.publish", str(out), "--repo-id", REPO, "--private"]
        published = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert published.returncode == 0, published.stderr[-3000:]
        assert server.repo(REPO).private is True
        assert all(ok for m, _, ok in server.state.requests if m == "POST")
    assert TOKEN not in published.stdout + published.stderr
    assert _grep_token(out) == []


def test_rerun_after_crash_resumes_and_skips_uploaded_shards(tmp_path, hub):
    out = tmp_path / "out"
    make_fake_output(out)
    hub.state.fail_commit_calls = {2}  # the second batch's commit fails mid-publish
    with pytest.raises(Exception, match="injected commit failure"):
        publish(out, REPO, files_per_commit=2)
    assert [len(c.added) for c in hub.repo(REPO).commits[1:]] == [2]

    result = publish(out, REPO, files_per_commit=2)
    assert len(result.skipped) == 2 and len(result.uploaded) == 4
    assert [len(c.added) for c in hub.repo(REPO).commits[1:]] == [2, 2, 2, 2]

    again = publish(out, REPO, files_per_commit=2)  # nothing changed: no new commit at all
    assert (len(again.skipped), again.uploaded, again.commits) == (6, [], [])
    assert len(hub.repo(REPO).commits) == 5


def test_fewer_shards_deletes_stale_ones_and_ledger_only_when_asked(tmp_path, hub):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=40, shards=3)
    publish(out, REPO)
    first = set(hub.repo(REPO).commits[-1].files)
    assert not any(name.startswith(("removed/", "modified/")) for name in first)

    out2 = tmp_path / "out2"
    make_fake_output(out2, docs_per_lang=40, shards=2)
    result = publish(out2, REPO, include_ledger=True)
    files = set(hub.repo(REPO).commits[-1].files)
    assert len(result.deleted) == 9 and all("-of-00003" in name for name in result.deleted)
    assert {n for n in files if n.startswith("data/")} == {
        f"data/{lang}/train-0000{i}-of-00002.parquet" for lang in LANGS for i in range(2)
    }
    ledger = {n for n in files if n.startswith(("removed/", "modified/"))}
    assert ledger == {Path(p).relative_to(out2).as_posix() for p in parquet_files(out2 / "removed")} | {
        "modified/pii/part-00000-of-00001.parquet"
    }
    assert "config_name: removed" in hub.repo(REPO).commits[-1].files["README.md"].data.decode()


def test_revision_goes_to_a_branch_and_main_is_untouched(tmp_path, hub):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=30)
    publish(out, REPO, revision="v1-candidate")
    repo = hub.repo(REPO)
    assert [c.summary for c in repo.branches["main"]] == ["initial commit"]
    assert "README.md" in repo.branches["v1-candidate"][-1].files


def test_refuses_missing_stats_without_touching_the_hub(tmp_path, hub):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=20)
    (out / "stats.json").unlink()
    with pytest.raises(PublishRefused, match="stats.json is missing"):
        publish(out, REPO)
    assert hub.state.requests == []


def test_cli_refuses_broken_ledger_with_clear_error(tmp_path):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=20)
    (out / "removed" / "near_dedup" / "part-00000-of-00001.parquet").unlink()  # rows dropped without a ledger
    cli = [sys.executable, "-m", "release.publish", str(out), "--repo-id", REPO]
    env = _offline_env("http://127.0.0.1:9", tmp_path / "home")  # never reached
    refused = subprocess.run(cli, env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert refused.returncode == 2
    assert "publish refused: ledger invariant fails" in refused.stderr
    assert "removed/near_dedup python/near_duplicate: 0 ledger rows, stats say 2" in refused.stderr
    assert TOKEN not in refused.stdout + refused.stderr


def test_refuses_when_token_would_be_uploaded(tmp_path, hub):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=20)
    (out / "report.html").write_text(f"<html>oops {TOKEN}</html>")
    with pytest.raises(PublishRefused, match="report.html contains the Hub token") as info:
        publish(out, REPO)
    assert TOKEN not in str(info.value)
    assert hub.state.requests == []


def test_ledger_check_finds_each_kind_of_break(tmp_path):
    out = tmp_path / "out"
    stats = make_fake_output(out, docs_per_lang=50)
    assert check_ledger(out) == []

    # A kept document written twice: counts and digest both break.
    shard = out / "data" / "java" / "train-00000-of-00002.parquet"
    table = pq.read_table(shard)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), shard)
    problems = check_ledger(out)
    kept_java = stats["stages"][-1]["langs"]["java"]["docs_out"]
    assert problems[0] == f"data/java: {kept_java + 1} rows on disk, stats say {kept_java}"
    assert any("ids: digest of data + removed ids" in p for p in problems)
    pq.write_table(table, shard)
    assert check_ledger(out) == []

    # Stats that do not add up.
    stats["stages"][2]["langs"]["python"]["docs_out"] += 1
    (out / "stats.json").write_text(json.dumps(stats))
    problems = check_ledger(out)
    assert problems == [
        "stage exact_dedup/python: docs_in 47 != docs_out 44 + removed 4",
        "stage basic/python: docs_in 43 != exact_dedup docs_out 44",
    ]


def test_ids_digest_is_order_independent_and_counts_duplicates():
    assert ids_digest(["a", "b", "c"]) == ids_digest(["c", "a", "b"])
    assert ids_digest(["a", "a"]) != ids_digest([])  # no xor: duplicates do not cancel
    assert ids_digest([]) == "0" * 32 and len(ids_digest(["x"])) == 32


def test_commit_batches_bound_files_and_bytes(tmp_path):
    out = tmp_path / "out"
    make_fake_output(out, docs_per_lang=20)
    files = shard_files(out, include_ledger=False)
    assert [f.path_in_repo for f in files][:2] == [
        "data/java/train-00000-of-00002.parquet",
        "data/java/train-00001-of-00002.parquet",
    ]
    assert [len(b) for b in commit_batches(files, 4, 10**12)] == [4, 2]
    assert [len(b) for b in commit_batches(files, 100, 1)] == [1] * 6  # a file over the budget goes alone
    # 5 stages removed something at this size (validate and decontam removed nothing) + modified/pii
    assert len(shard_files(out, include_ledger=True)) == 6 + 5 + 1
