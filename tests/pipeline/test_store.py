"""Local outputs are listed and read with the OS, the same paths and bytes Beam's local filesystem gives,
so the tokenizer and model commands never import Beam for them (1.3 s); URLs still go through Beam."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from pipeline import store
from tests.conftest import ROOT


def _tree(root: Path) -> None:
    for relative, data in {
        "data/python/train-00000-of-00001.parquet": b"PAR1" * 10,
        "data/java/train-00000-of-00002.parquet": b"x",
        "data/java/nested/deeper/part.parquet": b"",
        "removed/exact_dedup/part-00000-of-00001.parquet": b"yy",
        "stats.json": b"{}",
        ".hidden": b"h",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "empty_folder").mkdir()


def test_local_listing_is_what_beams_local_filesystem_lists(tmp_path):
    _tree(tmp_path)
    for folder in (str(tmp_path), f"{tmp_path}/", str(tmp_path / "data"), str(tmp_path / "none")):
        listed = FileSystems.match([store.join(folder, "**")])[0].metadata_list
        assert store.file_sizes(folder) == {m.path: m.size_in_bytes for m in listed}
        assert store.list_files(folder, ".parquet") == sorted(
            m.path for m in listed if m.path.endswith(".parquet")
        )
    assert store.list_files(tmp_path / "data", ".parquet") == [
        f"{tmp_path}/data/java/nested/deeper/part.parquet",
        f"{tmp_path}/data/java/train-00000-of-00002.parquet",
        f"{tmp_path}/data/python/train-00000-of-00001.parquet",
    ]
    assert store.exists(tmp_path / "stats.json") and not store.exists(tmp_path / "nothing.json")
    with store.open_read(tmp_path / "data/python/train-00000-of-00001.parquet") as handle:
        assert handle.read() == b"PAR1" * 10


def test_reading_a_local_output_imports_no_beam(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "data" / "python"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"content": ["a = 1\n", "b = 2\n"]}), folder / "train-00000-of-00001.parquet")
    code = (
        "import sys\n"
        "from tokenizer.corpus import iter_texts, resolve_parquet_files\n"
        f"files = resolve_parquet_files({str(tmp_path / 'data')!r})\n"
        "texts = [t for batch in iter_texts(files) for t in batch]\n"
        "print(len(files), texts, 'apache_beam' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1 ['a = 1\\n', 'b = 2\\n'] False"
