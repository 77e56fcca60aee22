"""A near-dedup evaluation corpus of real, unscreened code that keeps its natural near-duplicates.

Why: ``samplegen.sample`` screens out every near-duplicate so that its planted
labels are the whole truth; on it every near-dedup config looks perfect. Real
code is full of near-duplicate families, and they are what a near-dedup is
for and what it over-removes: core-js / lodash / rxjs / date-fns module
families and their ESM + CJS builds, the same package at two versions, JDK
locale data (CLDR-generated ``FormatData_xx`` classes), generated protobuf /
gRPC Java, AWS SDK model classes, generated Google Cloud Python clients,
botocore and the CPython stdlib (``encodings/cp*.py``).

Sources are pinned (package versions below) and fetched with the ordinary
clients (``npm pack``, ``mvn dependency:copy`` of ``-sources`` jars, ``pip
download``) into ``.cache/nd-corpus/``; three come from this machine (the
JDK's ``src.zip``, the running interpreter's stdlib, ``/usr/lib/node_modules``)
and their versions are recorded in ``manifest.json``. Every ``.py``, ``.java``,
``.js``/``.mjs``/``.cjs`` file that is UTF-8 and at most 1 MiB (The Stack's
limit) is written, nothing else is screened. Same fetched archives and machine
sources -> same parquet bytes; ``manifest.json`` holds each source's digest and
file count and the corpus digest, so two builds can be compared.

Metadata is synthetic: ``max_stars_repo_name`` is ``<kind>/<package>``,
``max_stars_repo_path`` the path inside it, stars a fixed function of the repo.

    python -m bench.nd_corpus [--output .cache/nd-corpus/corpus] [--offline]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from pipeline.ids import line_stats
from samplegen.sample import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "nd-corpus"
MAX_BYTES = 1 << 20
PART_BYTES = 8_000_000
LANGS = {".py": "Python", ".java": "Java", ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript"}

NPM = (
    "core-js@3.51.0",
    "core-js-pure@3.51.0",
    "lodash@4.18.1",
    "lodash@4.17.21",
    "lodash-es@4.18.1",
    "@babel/runtime@8.1.3",
    "@babel/runtime-corejs3@8.1.0",
    "rxjs@7.8.2",
    "date-fns@4.4.0",
    "moment@2.31.0",
    "moment@2.29.4",
    "dayjs@1.11.23",
    "highlight.js@11.12.0",
    "@mui/icons-material@9.5.0",
    "ramda@0.32.0",
    "@aws-sdk/client-s3@3.1175.0",
    "@aws-sdk/client-ec2@3.1169.0",
)
MAVEN = (
    "software.amazon.awssdk:dynamodb:2.25.0",
    "software.amazon.awssdk:sqs:2.25.0",
    "com.google.protobuf:protobuf-java:3.25.3",
    "com.google.api.grpc:proto-google-common-protos:2.37.1",
    "com.google.api.grpc:proto-google-cloud-pubsub-v1:1.108.0",
    "com.google.api.grpc:grpc-google-cloud-pubsub-v1:1.108.0",
)
PYPI = (
    "botocore==1.44.8",
    "googleapis-common-protos==1.76.0",
    "google-cloud-bigquery-storage==2.43.0",
    "google-cloud-bigtable==2.30.0",
    "google-cloud-datastore==2.27.0",
    "google-cloud-dlp==3.40.0",
    "google-cloud-language==2.22.0",
    "google-cloud-pubsub==2.44.0",
    "google-cloud-spanner==3.71.0",
)
JDK_MODULES = ("jdk.localedata",)


def _run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def npm_archive(spec: str, offline: bool) -> Path:
    """``npm pack`` tarball of ``name@version`` (fetched once)."""
    name, version = spec.rsplit("@", 1)
    folder = CACHE / "npm"
    path = folder / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not path.exists():
        if offline:
            raise FileNotFoundError(f"{path} missing and --offline given")
        folder.mkdir(parents=True, exist_ok=True)
        _run(["npm", "pack", "--silent", spec], folder)
    return path


def maven_archive(coords: str, offline: bool) -> Path:
    """The ``-sources`` jar of ``group:artifact:version`` (``mvn dependency:copy``, fetched once)."""
    _, artifact, version = coords.split(":")
    folder = CACHE / "maven"
    path = folder / f"{artifact}-{version}-sources.jar"
    if not path.exists():
        if offline:
            raise FileNotFoundError(f"{path} missing and --offline given")
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [
            "mvn",
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact={coords}:jar:sources",
            "-DoutputDirectory=.",
        ]
        _run(cmd, folder)
    return path


def pypi_archive(spec: str, offline: bool) -> Path:
    """The pure-Python wheel of ``name==version`` (``pip download --no-deps``, fetched once)."""
    name, version = spec.split("==")
    folder = CACHE / "pypi"
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(folder.glob(pattern))
    if not found:
        if offline:
            raise FileNotFoundError(f"{folder}/{pattern} missing and --offline given")
        folder.mkdir(parents=True, exist_ok=True)
        _run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", spec], folder
        )
        found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise RuntimeError(f"expected one wheel {pattern} in {folder}, found {found}")
    return found[0]


def jdk_src_zip() -> Path:
    """The first JDK ``src.zip`` (sorted) under /usr/lib/jvm that holds every module of ``JDK_MODULES``."""
    for path in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")):
        if path.exists():
            names = zipfile.ZipFile(path).namelist()
            if all(any(n.startswith(f"{m}/") for n in names) for m in JDK_MODULES):
                return path
    raise FileNotFoundError(f"no JDK src.zip with {JDK_MODULES} under /usr/lib/jvm")


def _archive_files(path: Path, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(member path, bytes) of a tarball or zip, sorted, code files only."""
    if path.suffix == ".tgz":
        with tarfile.open(path) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
            for m in members:
                if Path(m.name).suffix in LANGS and m.name.startswith(prefix) and m.size <= MAX_BYTES:
                    yield m.name.removeprefix("package/"), tar.extractfile(m).read()
    else:
        with zipfile.ZipFile(path) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                name = info.filename
                if Path(name).suffix in LANGS and name.startswith(prefix) and info.file_size <= MAX_BYTES:
                    yield name, zf.read(info)


def _tree_files(root: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, bytes]]:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if path.suffix in LANGS and not rel.startswith(skip) and path.stat().st_size <= MAX_BYTES:
            yield rel, path.read_bytes()


def sources(offline: bool) -> Iterator[tuple[str, str, Iterator[tuple[str, bytes]]]]:
    """(repo name, version note, files) per source, in a fixed order."""
    for spec in NPM:
        path = npm_archive(spec, offline)
        yield f"npm/{path.stem}", path.name, _archive_files(path)
    for coords in MAVEN:
        path = maven_archive(coords, offline)
        yield f"maven/{path.stem.removesuffix('-sources')}", path.name, _archive_files(path)
    for spec in PYPI:
        path = pypi_archive(spec, offline)
        yield f"pypi/{'-'.join(path.stem.split('-')[:2])}", path.name, _archive_files(path)
    src_zip = jdk_src_zip()
    release = src_zip.parent.parent / "release"
    version = (
        next(
            (
                line.split("=", 1)[1].strip('"')
                for line in release.read_text().splitlines()
                if line.startswith("JAVA_VERSION=")
            ),
            "unknown",
        )
        if release.exists()
        else "unknown"
    )
    for module in JDK_MODULES:
        yield f"jdk/{module}", f"{src_zip} (JDK {version})", _archive_files(src_zip, prefix=f"{module}/")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    yield (
        "cpython/stdlib",
        f"{stdlib} (Python {sys.version.split()[0]})",
        _tree_files(stdlib, ("site-packages",)),
    )
    node_modules = Path("/usr/lib/node_modules")
    if node_modules.is_dir():
        yield "node/lib-node_modules", str(node_modules), _tree_files(node_modules)


def row_of(repo: str, path: str, content: str, data: bytes) -> dict:
    avg, longest, alnum = line_stats(content)
    ext = Path(path).suffix
    return {
        "hexsha": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        "size": len(data),
        "ext": ext.lstrip("."),
        "lang": LANGS[ext],
        "max_stars_repo_path": path,
        "max_stars_repo_name": repo,
        "max_stars_repo_head_hexsha": None,
        "max_stars_repo_licenses": [],
        "max_stars_count": xxhash.xxh3_64_intdigest(repo.encode()) % 1000,
        "max_stars_repo_stars_event_min_datetime": None,
        "content": content,
        "avg_line_length": avg,
        "max_line_length": longest,
        "alphanum_fraction": alnum,
    }


def build(output: Path, offline: bool = False) -> dict:
    """Write ``part-*.parquet`` and ``manifest.json`` into ``output``; return the manifest."""
    output.mkdir(parents=True, exist_ok=True)
    for old in output.glob("part-*.parquet"):
        old.unlink()
    manifest: dict = {"sources": [], "files": 0, "bytes": 0}
    corpus_digest = hashlib.sha256()
    rows: list[dict] = []
    part_bytes, parts = 0, 0

    def flush() -> None:
        nonlocal rows, part_bytes, parts
        if rows:
            table = pa.Table.from_pylist(rows, schema=SCHEMA)
            pq.write_table(table, output / f"part-{parts:05d}.parquet", row_group_size=1000)
            parts += 1
        rows, part_bytes = [], 0

    for repo, note, files in sources(offline):
        digest, count, size, undecodable = hashlib.sha256(), 0, 0, 0
        for path, data in files:
            try:
                content = data.decode("utf-8")
            except UnicodeDecodeError:
                undecodable += 1
                continue
            digest.update(path.encode() + b"\0" + data)
            rows.append(row_of(repo, path, content, data))
            count, size, part_bytes = count + 1, size + len(data), part_bytes + len(data)
            if part_bytes >= PART_BYTES:
                flush()
        manifest["sources"].append(
            {
                "repo": repo,
                "from": note,
                "files": count,
                "bytes": size,
                "undecodable": undecodable,
                "sha256": digest.hexdigest(),
            }
        )
        corpus_digest.update(digest.digest())
        manifest["files"] += count
        manifest["bytes"] += size
        print(f"{repo:<48} {count:>6} files {size / 1e6:>7.1f} MB", flush=True)
    flush()
    manifest["sha256"] = corpus_digest.hexdigest()
    (output / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{manifest['files']} files, {manifest['bytes'] / 1e6:.1f} MB in {parts} parts -> {output}")
    return manifest


def load_docs(corpus: Path) -> list[dict]:
    """The corpus as ``near_dedup`` sees it in a pipeline: ids added, one copy per identical content
    (``exact_dedup``), documents the basic filter drops removed (minified and data files), in id order."""
    from filters.basic import BasicThresholds, basic_failure
    from samplegen.sample import read_sample_docs

    if not any(corpus.glob("*.parquet")):
        raise FileNotFoundError(f"{corpus}: no parquet files; build it with python -m bench.nd_corpus")
    thresholds = BasicThresholds()
    return [
        doc
        for doc in read_sample_docs(corpus)
        if basic_failure(doc["max_line_length"], doc["avg_line_length"], doc["alphanum_fraction"], thresholds)
        is None
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=CACHE / "corpus")
    parser.add_argument(
        "--offline", action="store_true", help="use only archives already in .cache/nd-corpus"
    )
    args = parser.parse_args(argv)
    build(args.output, args.offline)


if __name__ == "__main__":
    main()
