"""Publish a finished pipeline output to the Hugging Face Hub as a dataset repo.

Why a batch of ``create_commit`` calls and not one ``upload_folder``: a
268 GB run writes hundreds of 256 MB shards. One commit per batch of shards
(``files_per_commit`` files or ``bytes_per_commit`` bytes) keeps every commit
well under the Hub's limits, and makes the upload resumable *by design*:
before committing, the remote tree is listed once and every local file whose
sha256 (LFS) or git blob id (regular file) already matches the remote one is
skipped, so re-running after a crash only sends the batches that never
landed. Inside each commit ``huggingface_hub`` still uses its fastest
transfer (Xet when ``hf_xet`` is installed, LFS otherwise) and its own no-op
detection. This behaves the same with or without Xet, which
``upload_folder`` / the removed ``upload_large_folder`` do not.

The card (README.md), stats.json and report.html go in the last commit, so
the dataset viewer only sees the new card once all its data is there; that
commit also deletes remote shards the local output no longer has (a re-run
with fewer shards must not leave stale ones that ``load_dataset`` would read).

The ledger (``removed/``, ``modified/``) is only uploaded with
``include_ledger``. The token comes from ``huggingface_hub``'s standard lookup
(``HF_TOKEN``, then the login cache) unless given; it is never printed,
logged or written, and publishing refuses if it appears in any file to upload.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cli.command import CliParser, run_cli
from pipeline import store
from pipeline.ids import git_blob_sha1
from pipeline.output_files import STATS_FILE
from release.card import write_card
from release.verify import check_ledger

logger = logging.getLogger(__name__)

FILES_PER_COMMIT = 50
BYTES_PER_COMMIT = 20 * 1024**3
DATA_PREFIXES = ("data/",)
LEDGER_PREFIXES = ("removed/", "modified/")
SIDE_FILES = ("README.md", STATS_FILE, "report.html")
REPO_TYPE = "dataset"


class PublishRefused(RuntimeError):
    """The output is not fit to publish (missing stats, broken ledger, token inside a file)."""


@dataclass(frozen=True)
class OutputFile:
    """A file of the output (local or on an object store) and where it goes in the repo."""

    path_in_repo: str
    source: str
    size: int


@dataclass
class PublishResult:
    repo_url: str
    commits: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def shard_files(out_dir: str | Path, include_ledger: bool) -> list[OutputFile]:
    """The parquet shards to upload, in a stable order: data first, then the ledger when asked."""
    out = str(out_dir).rstrip("/")
    folders = ["data"] + (["removed", "modified"] if include_ledger else [])
    files = []
    for folder in folders:
        for path, size in sorted(store.file_sizes(store.join(out, folder), ".parquet").items()):
            files.append(OutputFile(store.relative(path, out), path, size))
    return files


def commit_batches(
    files: list[OutputFile], files_per_commit: int, bytes_per_commit: int
) -> list[list[OutputFile]]:
    """Greedy batches of at most ``files_per_commit`` files and ``bytes_per_commit`` bytes (one big file alone)."""
    batches: list[list[OutputFile]] = []
    current: list[OutputFile] = []
    current_bytes = 0
    for item in files:
        if current and (len(current) >= files_per_commit or current_bytes + item.size > bytes_per_commit):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += item.size
    if current:
        batches.append(current)
    return batches


def _sha256(path: str) -> str:
    """Streamed, so a shard on an object store is hashed without a local copy."""
    digest = hashlib.sha256()
    with store.open_read(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def already_uploaded(local: OutputFile, remote) -> bool:
    """Whether the remote file (a ``RepoFile``) has exactly the output file's content."""
    if remote is None or remote.size != local.size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == _sha256(local.source)
    return remote.blob_id == git_blob_sha1(store.read_bytes(local.source))


def _local_copy(item: OutputFile, scratch: Path) -> str:
    """A path the Hub client can upload from: the file itself, or a copy of a remote one in ``scratch``."""
    if not store.is_remote(item.source):
        return item.source
    return str(store.download(item.source, scratch / item.path_in_repo))


def refuse_unfit(out_dir: str) -> None:
    """PublishRefused unless stats.json exists and the ledger invariant holds."""
    if not store.exists(store.join(out_dir, STATS_FILE)):
        raise PublishRefused(
            f"{store.join(out_dir, STATS_FILE)} is missing: {out_dir} is not a finished pipeline output"
        )
    problems = check_ledger(out_dir)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise PublishRefused(
            f"ledger invariant fails for {out_dir} ({len(problems)} problems):\n  {shown}{more}"
        )


def refuse_token_in_files(token: str | None, files: list[Path]) -> None:
    """PublishRefused if the token is written in any small text file about to be uploaded."""
    if not token:
        return
    needle = token.encode()
    for path in files:
        if Path(path).is_file() and needle in Path(path).read_bytes():
            raise PublishRefused(f"{path} contains the Hub token; refusing to upload it")


def publish(
    out_dir: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    include_ledger: bool = False,
    token: str | None = None,
    *,
    files_per_commit: int = FILES_PER_COMMIT,
    bytes_per_commit: int = BYTES_PER_COMMIT,
) -> PublishResult:
    """Create (or reuse) the dataset repo ``repo_id`` and upload the output (local or on an object
    store); resumable by re-running."""
    out = str(out_dir).rstrip("/")
    refuse_unfit(out)
    with tempfile.TemporaryDirectory(prefix="stackcurate-publish-") as scratch:
        return _publish(
            out,
            repo_id,
            private,
            revision,
            include_ledger,
            token,
            Path(scratch),
            files_per_commit,
            bytes_per_commit,
        )


def _publish(
    out: str,
    repo_id: str,
    private: bool,
    revision: str | None,
    include_ledger: bool,
    token: str | None,
    scratch: Path,
    files_per_commit: int,
    bytes_per_commit: int,
) -> PublishResult:
    """``publish`` with a scratch folder: remote side files and one commit's remote shards are copied
    there before upload, and each batch's copies are removed after its commit."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token
    from huggingface_hub.hf_api import RepoFile

    card = write_card(out, repo_id=repo_id, include_ledger=include_ledger)
    side = [store.join(out, name) for name in SIDE_FILES if store.exists(store.join(out, name))]
    side_files = [Path(_local_copy(OutputFile(store.relative(p, out), p, 0), scratch / "side")) for p in side]
    refuse_token_in_files(token or get_token(), side_files)

    api = HfApi(token=token)
    repo_url = api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
    result = PublishResult(repo_url=str(repo_url))
    if revision and revision != "main":
        api.create_branch(repo_id, repo_type=REPO_TYPE, branch=revision, exist_ok=True)
    logger.info("publishing %s to %s (revision %s)", out, repo_url, revision or "main")

    remote = {
        entry.path: entry
        for entry in api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True)
        if isinstance(entry, RepoFile)
    }
    shards = shard_files(out, include_ledger)
    pending = []
    for item in shards:
        if already_uploaded(item, remote.get(item.path_in_repo)):
            result.skipped.append(item.path_in_repo)
        else:
            pending.append(item)
    if result.skipped:
        logger.info("%d shards already on the Hub with the same content: skipped", len(result.skipped))

    batches = commit_batches(pending, files_per_commit, bytes_per_commit)
    for number, batch in enumerate(batches, start=1):
        megabytes = sum(item.size for item in batch) / 1e6
        message = f"Upload {len(batch)} shards ({megabytes:.1f} MB), batch {number}/{len(batches)}"
        logger.info("%s", message)
        batch_dir = scratch / f"batch-{number}"
        info = api.create_commit(
            repo_id,
            [CommitOperationAdd(item.path_in_repo, _local_copy(item, batch_dir)) for item in batch],
            commit_message=message,
            repo_type=REPO_TYPE,
            revision=revision,
        )
        shutil.rmtree(batch_dir, ignore_errors=True)
        result.commits.append(info.oid)
        result.uploaded += [item.path_in_repo for item in batch]

    managed = DATA_PREFIXES + (LEDGER_PREFIXES if include_ledger else ())
    local_paths = {item.path_in_repo for item in shards}
    stale = sorted(p for p in remote if p.startswith(managed) and p not in local_paths)
    head = result.commits[-1] if result.commits else api.dataset_info(repo_id, revision=revision).sha
    operations = [CommitOperationAdd(path.name, str(path)) for path in side_files]
    operations += [CommitOperationDelete(path) for path in stale]
    info = api.create_commit(
        repo_id,
        operations,
        commit_message="Update dataset card, stats and report"
        + (f"; delete {len(stale)} stale shards" if stale else ""),
        repo_type=REPO_TYPE,
        revision=revision,
    )
    if info.oid != head:  # create_commit returns the current head when nothing changed
        result.commits.append(info.oid)
    result.deleted = stale
    logger.info(
        "published %s: %d shards uploaded, %d skipped, card %s",
        repo_url,
        len(pending),
        len(result.skipped),
        card,
    )
    return result


def build_parser() -> CliParser:
    parser = CliParser(
        prog="python -m release.publish",
        description="Upload a pipeline output (data/, card, stats, report) to a Hugging Face dataset repo. "
        "The token comes from HF_TOKEN or `hf auth login`.",
    )
    parser.add_argument("out", help="the pipeline output directory (OUT)")
    parser.add_argument("--repo_id", required=True, help="ORG/NAME of the dataset repo (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument(
        "--revision", default=None, help="branch to commit to (default: main; created if missing)"
    )
    parser.add_argument("--include_ledger", action="store_true", help="also upload removed/ and modified/")
    parser.add_argument(
        "--files_per_commit",
        type=int,
        default=FILES_PER_COMMIT,
        help="shards per Hub commit (resumable steps)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request is noise
    result = publish(
        args.out,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        include_ledger=args.include_ledger,
        files_per_commit=args.files_per_commit,
    )
    print(
        f"published {args.out} -> {result.repo_url}: {len(result.uploaded)} shards uploaded in "
        f"{len(result.commits)} commits, {len(result.skipped)} already there, {len(result.deleted)} stale deleted"
    )
    return 0


if __name__ == "__main__":
    run_cli(main, "release.publish")
