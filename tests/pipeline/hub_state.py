"""The test Hub's in-memory state: repos, commits and stored files (see ``hub_server``)."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field

LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".png", ".gz", ".zip")
REGULAR_MAX_BYTES = 10 * 1024 * 1024


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob " + str(len(data)).encode() + b"\0" + data).hexdigest()


@dataclass
class StoredFile:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def entry(self, path: str) -> dict:
        if self.lfs:
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n"
            return {
                "type": "file",
                "path": path,
                "size": len(self.data),
                "oid": git_blob_sha1(pointer.encode()),
                "lfs": {"oid": self.sha256, "size": len(self.data), "pointerSize": len(pointer)},
            }
        return {"type": "file", "path": path, "size": len(self.data), "oid": git_blob_sha1(self.data)}


@dataclass
class Commit:
    oid: str
    summary: str
    files: dict[str, StoredFile]
    added: list[str]
    deleted: list[str]


@dataclass
class Repo:
    repo_id: str
    private: bool
    branches: dict[str, list[Commit]] = field(default_factory=dict)

    @property
    def commits(self) -> list[Commit]:
        return self.branches["main"]

    def resolve(self, revision: str) -> Commit | None:
        if revision in self.branches:
            return self.branches[revision][-1]
        for history in self.branches.values():
            for commit in history:
                if commit.oid == revision:
                    return commit
        return None


class HubState:
    """Repos, LFS objects and the request log, shared by the handler threads."""

    def __init__(self, token: str):
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, bool]] = []
        self.unhandled: list[str] = []
        self.commit_calls = 0
        self.fail_commit_calls: set[int] = set()  # 1-based commit calls answered with HTTP 500 (crash tests)
        self.lock = threading.Lock()

    def new_commit(
        self, repo: Repo, branch: str, summary: str, files: dict, added: list, deleted: list
    ) -> Commit:
        seed = f"{repo.repo_id}{branch}{summary}{len(repo.branches.get(branch, []))}{time.time_ns()}"
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), summary, files, added, deleted)
        repo.branches.setdefault(branch, []).append(commit)
        return commit
