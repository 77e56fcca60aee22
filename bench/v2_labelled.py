"""Build the labelled set for the Stack v2 filters from ``bench/v2_labelled.json``.

    python -m bench.v2_labelled [--out .cache/v2-labelled]

Fetches every source of the manifest with its ordinary client (``npm pack``,
``pip download``, the Maven Central sources jar; the local JDK ``src.zip`` and
the Python standard library are read in place and their version checked), picks
each group's files deterministically (sorted by the SHA-1 of the path, the first
``take``) and writes ``labelled.jsonl``: one record per file (path as in its
repository, language, labels, why, ``split`` dev/test by the path's hash, content)
and one per licence identifier. Nothing is labelled by our detectors: the labels
are the manifest's, from where each file comes from. ``python -m bench.filters_v2
--labelled`` scores the filters on it. Downloads stay in the output folder.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import platform
import re
import subprocess
import sys
import sysconfig
import tarfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "bench" / "v2_labelled.json"
DEFAULT_OUT = ROOT / ".cache" / "v2-labelled"
MAVEN = "https://repo1.maven.org/maven2"
LANGS = {".py": "python", ".java": "java", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript"}


class Archive:
    """The files of one source: ``names`` (paths inside it) and ``read``."""

    def __init__(
        self, files: dict[str, bytes] | None = None, zip_path: Path | None = None, root: Path | None = None
    ):
        self._files, self._zip, self._root = files, zipfile.ZipFile(zip_path) if zip_path else None, root
        if files is not None:
            self.names = sorted(files)
        elif self._zip is not None:
            self.names = sorted(i.filename for i in self._zip.infolist() if not i.is_dir())
        else:
            self.names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        if self._files is not None:
            return self._files[name]
        if self._zip is not None:
            return self._zip.read(name)
        return (self._root / name).read_bytes()


def _npm(spec: str, downloads: Path) -> Archive:
    package, version = spec.rsplit("@", 1)
    name = f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"  # npm pack's file name
    if not (downloads / name).exists():
        subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(downloads)],
            check=True, capture_output=True, text=True, cwd=downloads,
        )  # fmt: skip
    files = {}
    with tarfile.open(downloads / name) as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name.split("/", 1)[1]] = tar.extractfile(member).read()
    return Archive(files=files)


def _pypi(spec: str, downloads: Path) -> Archive:
    target = downloads / spec.replace("==", "-")
    if not any(target.glob("*.whl")):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--python-version",
             "3.11", "--platform", "manylinux2014_x86_64", "-d", str(target), spec, "-q"],
            check=True,
        )  # fmt: skip
    return Archive(zip_path=next(target.glob("*.whl")))


def _maven(spec: str, downloads: Path) -> Archive:
    group, artifact, version = spec.split(":")
    name = f"{artifact}-{version}-sources.jar"
    target = downloads / name
    if not target.exists():
        url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{name}"
        with urllib.request.urlopen(url, timeout=120) as response:
            target.write_bytes(response.read())
    return Archive(zip_path=target)


def _local_zip(spec: str, sha256: str) -> Archive:
    path = Path(spec)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        print(f"warning: {path} has sha256 {digest}, the manifest was made from {sha256}", file=sys.stderr)
    return Archive(zip_path=path)


def _stdlib(version: str) -> Archive:
    if platform.python_version() != version:
        print(
            f"warning: Python {platform.python_version()}, the manifest was made with {version}",
            file=sys.stderr,
        )
    root = Path(sysconfig.get_paths()["stdlib"])
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*.py") if "site-packages" not in p.parts}
    return Archive(files={name: path.read_bytes() for name, path in files.items()})


def open_source(source: dict, downloads: Path) -> Archive:
    kind, spec = source["kind"], source["spec"]
    downloads.mkdir(parents=True, exist_ok=True)
    if kind == "npm":
        return _npm(spec, downloads)
    if kind == "pypi":
        return _pypi(spec, downloads)
    if kind == "maven":
        return _maven(spec, downloads)
    if kind == "zip":
        return _local_zip(spec, source["sha256"])
    if kind == "stdlib":
        return _stdlib(version=spec)
    raise ValueError(f"unknown source kind {kind!r}")


def pick(names: list[str], group: dict) -> list[str]:
    """The group's files: matching ``include``, not ``exclude``, the first ``take`` by SHA-1 of the path."""
    chosen = [
        n
        for n in names
        if any(fnmatch.fnmatchcase(n, p) for p in group["include"])
        and not any(fnmatch.fnmatchcase(n, p) for p in group.get("exclude", []))
    ]
    chosen.sort(key=lambda n: hashlib.sha1(n.encode()).hexdigest())
    return sorted(chosen[: group["take"]] if "take" in group else chosen)


def split_of(key: str) -> str:
    return "dev" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def licence_records(group: dict, archive: Archive, names: list[str], truth: dict[str, str]) -> list[dict]:
    """Blue Oak (permissive) and spdx-copyleft (not) lists as truths; package.json licence fields classed by them."""
    out = []
    for name in names:
        data = json.loads(archive.read(name))
        if group["source"] == "npm:blueoak":
            ids = [lic["id"] for rating in data for lic in rating["licenses"]]
            truth.update({i: "permissive" for i in ids})
        elif group["source"] == "npm:spdx-copyleft":
            truth.update({i: "non_permissive" for i in data})
            ids = list(data)
        else:
            value = data.get("license")
            ids = [value] if isinstance(value, str) and value in truth else []
        for value in ids:
            key = f"{group['source']}:{name}:{value}"
            out.append({"kind": "licence", "key": key, "value": value, "truth": truth[value], "split": split_of(key),
                        "why": group["why"]})  # fmt: skip
    return out


def build(out: Path) -> Path:
    manifest = json.loads(MANIFEST.read_text())
    archives: dict[str, Archive] = {}
    records, files, truth = [], {}, {}
    # licence lists first: the package.json group is classed by them
    groups = sorted(manifest["groups"], key=lambda g: g["source"] not in ("npm:blueoak", "npm:spdx-copyleft"))
    for index, group in enumerate(groups):
        source = group["source"]
        if source not in archives:
            print(f"fetching {source} ({manifest['sources'][source]['spec']})", file=sys.stderr)
            archives[source] = open_source(manifest["sources"][source], out / "downloads")
        archive = archives[source]
        names = pick(archive.names, group)
        if not names:
            raise SystemExit(f"group {index} ({source}, {group['include'][:2]}...) matched no file")
        if group.get("licences"):
            records += licence_records(group, archive, names, truth)
            continue
        for name in names:
            key = f"{source}:{name}"
            record = files.setdefault(
                key, {"kind": "file", "key": key, "source": source, "labels": {}, "why": []}
            )
            clash = {k for k, v in group["labels"].items() if record["labels"].get(k, v) != v}
            if clash:
                raise SystemExit(f"{key}: groups disagree on {sorted(clash)}; labels must come from one")
            record["labels"].update(group["labels"])
            record["why"].append(group["why"])
            record.update(path=re.sub(*group["frame"], name, count=1) if "frame" in group else name,
                          lang=LANGS.get(Path(name).suffix), split=split_of(key))  # fmt: skip
            if not group.get("path_only"):
                record["content"] = archive.read(name).decode("utf-8", "replace")
    records += [{**r, "why": "; ".join(r["why"])} for r in files.values()]
    target = out / "labelled.jsonl"
    with target.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{target}: {len(files)} files ({sum('content' in r for r in files.values())} with content), "
          f"{len(records) - len(files)} licence identifiers", file=sys.stderr)  # fmt: skip
    return target


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for downloads and labelled.jsonl"
    )
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
