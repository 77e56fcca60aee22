"""A tiny in-memory Hugging Face Hub on 127.0.0.1 for the publish tests.

It speaks just the part of the Hub HTTP API that ``huggingface_hub`` 2.x (with
``HF_HUB_DISABLE_XET=1``) and ``datasets`` use to create a dataset repo,
upload and commit files (preupload, LFS batch + basic PUT transfer, ndjson
commit), list them (tree, paths-info, repo info) and download them (resolve,
with Range). Endpoints were read off the installed ``huggingface_hub`` source
(``hf_api.py``, ``_commit_api.py``, ``lfs.py``, ``file_download.py``).

Writes need ``Authorization: Bearer <token>``; every request is recorded in
``server.requests`` and every commit in ``repo.commits`` so tests can assert
how many commits a publish made and which files each one held.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from tests.pipeline.hub_state import (
    LFS_SUFFIXES,
    REGULAR_MAX_BYTES,
    Commit,
    HubState,
    Repo,
    StoredFile,
    git_blob_sha1,
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeHub/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> HubState:
        return self.server.state  # type: ignore[attr-defined]

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]  # type: ignore[index]
        return f"http://{host}:{port}"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence the default stderr log
        return

    # -- plumbing -------------------------------------------------------------------------------
    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.state.token}"

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
        self.send_response(status)
        if raw is None:
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers=headers)

    def _repo(self, repo_id: str, write: bool = False) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None or ((repo.private or write) and not self._authorized()):
            self._error(404 if not write or repo is None else 401, "Repository not found", "RepoNotFound")
            return None
        return repo

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        path = url.path
        with self.state.lock:
            self.state.requests.append((self.command, path, self._authorized()))
        routes = [
            ("POST", r"^/api/repos/create$", self._create_repo),
            ("POST", r"^/api/validate-yaml$", self._validate_yaml),
            ("GET", r"^/api/whoami-v2$", self._whoami),
            ("POST", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)$", self._preupload),
            ("POST", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$", self._commit),
            ("POST", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/branch/(?P<rev>[^/]+)$", self._create_branch),
            ("POST", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)$", self._paths_info),
            (
                "GET",
                r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?$",
                self._tree,
            ),
            ("GET", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$", self._info),
            ("GET", r"^/api/datasets/(?P<repo>[^/]+/[^/]+)$", self._info),
            ("POST", r"^/datasets/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch$", self._lfs_batch),
            ("PUT", r"^/lfs-upload/(?P<oid>[0-9a-f]{64})$", self._lfs_put),
            ("GET", r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<sub>.+)$", self._resolve),
            ("HEAD", r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<sub>.+)$", self._resolve),
        ]
        for method, pattern, handler in routes:
            match = re.match(pattern, path)
            if method == self.command and match:
                params = {k: unquote(v) if v is not None else None for k, v in match.groupdict().items()}
                with self.state.lock:
                    handler(query=query, **params)
                return
        self._body()
        with self.state.lock:
            self.state.unhandled.append(f"{self.command} {self.path}")
        self._error(404, f"FakeHub: no route for {self.command} {path}")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

    # -- endpoints --------------------------------------------------------------------------------
    def _create_repo(self, query) -> None:
        payload = json.loads(self._body() or b"{}")
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        if payload.get("type") != "dataset":
            return self._error(400, "FakeHub only hosts datasets")
        repo_id = f"{payload['organization']}/{payload['name']}"
        if repo_id in self.state.repos:
            body = {
                "error": "You already created this dataset repo",
                "url": f"{self.base}/datasets/{repo_id}",
            }
            return self._send(409, body, headers={"X-Error-Message": body["error"]})
        repo = Repo(repo_id, private=payload.get("visibility") == "private" or bool(payload.get("private")))
        self.state.repos[repo_id] = repo
        gitattributes = StoredFile(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", lfs=False)
        self.state.new_commit(
            repo, "main", "initial commit", {".gitattributes": gitattributes}, [".gitattributes"], []
        )
        self._send(200, {"url": f"{self.base}/datasets/{repo_id}", "name": repo_id})

    def _validate_yaml(self, query) -> None:
        payload = json.loads(self._body() or b"{}")
        content = payload.get("content", "")
        if not content.startswith("---\n"):
            return self._send(200, {"warnings": [{"message": "empty or missing yaml metadata"}]})
        self._send(200, {"errors": [], "warnings": []})

    def _whoami(self, query) -> None:
        if not self._authorized():
            return self._error(401, "Invalid credentials in Authorization header")
        self._send(200, {"type": "user", "name": "tester", "orgs": [], "auth": {"type": "access_token"}})

    def _preupload(self, query, repo: str, rev: str) -> None:
        payload = json.loads(self._body() or b"{}")
        stored = self._repo(repo, write=True)
        if stored is None:
            return
        head = stored.resolve(rev)
        files = []
        for item in payload.get("files", []):
            sample = base64.b64decode(item["sample"])
            lfs = item["path"].endswith(LFS_SUFFIXES) or item["size"] > REGULAR_MAX_BYTES or b"\0" in sample
            existing = head.files.get(item["path"]) if head else None
            oid = None
            if existing is not None:
                oid = existing.sha256 if existing.lfs else git_blob_sha1(existing.data)
            mode = "lfs" if lfs else "regular"
            files.append({"path": item["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send(200, {"files": files, "commitOid": head.oid if head else None})

    def _lfs_batch(self, query, repo: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._repo(repo, write=True) is None:
            return
        objects = []
        for obj in payload.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.lfs_objects:
                entry["actions"] = {"upload": {"href": f"{self.base}/lfs-upload/{obj['oid']}", "header": {}}}
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects})

    def _lfs_put(self, query, oid: str) -> None:
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "sha256 mismatch")
        self.state.lfs_objects[oid] = data
        self._send(200, {})

    def _commit(self, query, repo: str, rev: str) -> None:
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        stored = self._repo(repo, write=True)
        if stored is None:
            return
        self.state.commit_calls += 1
        if self.state.commit_calls in self.state.fail_commit_calls:
            return self._error(500, "FakeHub: injected commit failure")
        head = stored.resolve(rev)
        if head is None or rev not in stored.branches:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        files = dict(head.files)
        summary, added, deleted = "", [], []
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "header":
                summary = value.get("summary", "")
            elif key == "file":
                files[value["path"]] = StoredFile(base64.b64decode(value["content"]), lfs=False)
                added.append(value["path"])
            elif key == "lfsFile":
                data = self.state.lfs_objects.get(value["oid"])
                if data is None:
                    return self._error(400, f"LFS object {value['oid']} was never uploaded")
                files[value["path"]] = StoredFile(data, lfs=True)
                added.append(value["path"])
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    return self._error(404, "A file with this name doesn't exist")
                deleted.append(value["path"])
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                for name in [n for n in files if n.startswith(prefix)]:
                    del files[name]
                    deleted.append(name)
        commit = self.state.new_commit(stored, rev, summary, files, added, deleted)
        self._send(
            200,
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.base}/datasets/{repo}/commit/{commit.oid}",
                "pullRequestUrl": None,
            },
        )

    def _create_branch(self, query, repo: str, rev: str) -> None:
        payload = json.loads(self._body() or b"{}")
        stored = self._repo(repo, write=True)
        if stored is None:
            return
        if rev in stored.branches:
            return self._error(409, "Reference already exists")
        start = stored.resolve(payload.get("startingPoint") or "main")
        stored.branches[rev] = [start]
        self._send(200, {})

    def _info(self, query, repo: str, rev: str = "main") -> None:
        stored = self._repo(repo)
        if stored is None:
            return
        commit = stored.resolve(rev)
        if commit is None:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        self._send(
            200,
            {
                "_id": repo,
                "id": repo,
                "author": repo.split("/")[0],
                "sha": commit.oid,
                "private": stored.private,
                "disabled": False,
                "gated": False,
                "lastModified": "2026-01-01T00:00:00.000Z",
                "tags": [],
                "siblings": [{"rfilename": name} for name in sorted(commit.files)],
            },
        )

    def _listing(self, commit: Commit, sub: str, recursive: bool) -> list[dict]:
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        entries: dict[str, dict] = {}
        for name, stored in sorted(commit.files.items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            parts = rest.split("/")
            if recursive:
                for depth in range(1, len(parts)):
                    folder = prefix + "/".join(parts[:depth])
                    entries.setdefault(
                        folder, {"type": "directory", "path": folder, "size": 0, "oid": "0" * 40}
                    )
                entries[name] = stored.entry(name)
            elif len(parts) == 1:
                entries[name] = stored.entry(name)
            else:
                folder = prefix + parts[0]
                entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0, "oid": "0" * 40})
        return list(entries.values())

    def _tree(self, query, repo: str, rev: str, sub: str | None) -> None:
        stored = self._repo(repo)
        if stored is None:
            return
        commit = stored.resolve(rev)
        if commit is None:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        sub = sub or ""
        if (
            sub
            and sub not in commit.files
            and not any(n.startswith(sub.rstrip("/") + "/") for n in commit.files)
        ):
            return self._error(404, f"Entry {sub} not found", "EntryNotFound")
        recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
        self._send(200, self._listing(commit, sub, recursive))

    def _paths_info(self, query, repo: str, rev: str) -> None:
        body = self._body().decode()
        form = parse_qs(body) if "json" not in self.headers.get("Content-Type", "") else json.loads(body)
        paths = form.get("paths", [])
        stored = self._repo(repo)
        if stored is None:
            return
        commit = stored.resolve(rev)
        if commit is None:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        result = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                result.append(commit.files[path].entry(path))
            elif any(name.startswith(path + "/") for name in commit.files):
                result.append({"type": "directory", "path": path, "size": 0, "oid": "0" * 40})
        self._send(200, result)

    def _resolve(self, query, repo: str, rev: str, sub: str) -> None:
        stored = self._repo(repo)
        if stored is None:
            return
        commit = stored.resolve(rev)
        if commit is None:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        found = commit.files.get(sub)
        if found is None:
            return self._error(404, f"Entry {sub} not found", "EntryNotFound")
        etag = found.sha256 if found.lfs else git_blob_sha1(found.data)
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if found.lfs:
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(len(found.data))
        data = found.data
        status = 200
        match = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if match and data:
            start_s, end_s = match.groups()
            if start_s:
                start, end = int(start_s), int(end_s) if end_s else len(data) - 1
            else:
                start, end = max(len(data) - int(end_s), 0), len(data) - 1
            end = min(end, len(data) - 1)
            if start >= len(data):
                return self._send(416, {}, headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        self._send(status, raw=data, headers=headers)


class HubServer:
    """Context manager: ``with HubServer(token) as hub: hub.endpoint`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self, token: str):
        self.state = HubState(token)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-hub", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def repo(self, repo_id: str) -> Repo:
        return self.state.repos[repo_id]
