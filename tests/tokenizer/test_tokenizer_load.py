"""The one tokenizer loader: local file or folder (shipped as bytes), URLs, Hub ids; never a Hub request
for a local-looking path, never the launcher's path inside what a stage ships."""

from __future__ import annotations

import pickle
from pathlib import Path

import fsspec
import pytest
from tokenizers import Tokenizer

from tokenizer.load import TokenizerRef, load_tokenizer, tokenizer_ref
from tokenizer.train import train_tokenizer


@pytest.fixture(scope="module")
def saved(tmp_path_factory, code_corpus) -> Path:
    """A trained tokenizer saved with truncation and padding on: loading must turn both off."""
    tokenizer = train_tokenizer(code_corpus["python"][:20], vocab_size=300, show_progress=False)
    tokenizer.enable_truncation(max_length=8)
    tokenizer.enable_padding(length=64)
    path = tmp_path_factory.mktemp("load") / "tok" / "tokenizer.json"
    path.parent.mkdir()
    tokenizer.save(str(path))
    return path


def _same(tokenizer: Tokenizer, saved: Path) -> None:
    text = "def f(x):\n    return x * 12345\n" * 4
    reference = Tokenizer.from_file(str(saved))
    reference.no_truncation()
    reference.no_padding()
    assert tokenizer.truncation is None and tokenizer.padding is None
    assert tokenizer.encode(text).ids == reference.encode(text).ids
    assert len(tokenizer.encode(text).ids) > 8  # not cut at the saved truncation


def test_local_file_folder_and_file_url_are_read_now_and_shipped_as_bytes(saved: Path):
    for spec in (str(saved), str(saved.parent), saved, f"file://{saved}"):
        ref = tokenizer_ref(spec)
        assert ref.location is None and ref.json == saved.read_bytes()
        _same(ref.load(), saved)
    shipped = pickle.dumps(tokenizer_ref(saved))
    assert str(saved.parent).encode() not in shipped  # what a stage pickles holds no path of this machine
    _same(pickle.loads(shipped).load(), saved)


def test_remote_url_is_read_where_it_is_loaded(saved: Path):
    """``memory://`` (fsspec) stands in for a store; gs:// and s3:// go through Beam's filesystems
    (s3 is exercised in tests/model/test_score_workers.py)."""
    with fsspec.open("memory://models/tok/tokenizer.json", "wb") as out:
        out.write(saved.read_bytes())
    for url in ("memory://models/tok", "memory://models/tok/", "memory://models/tok/tokenizer.json"):
        ref = tokenizer_ref(url)
        assert ref == TokenizerRef(location=url)  # nothing read at graph construction
        _same(ref.load(), saved)
    with pytest.raises(FileNotFoundError):
        load_tokenizer("memory://models/none")


def test_hub_id_loads_through_huggingface_hub(saved: Path, tmp_path: Path, monkeypatch):
    """A Hub id goes to ``hf_hub_download`` (HF_ENDPOINT, token and cache honoured); here from a
    pre-filled offline cache, so nothing touches the network."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--org--tiny" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_bytes(saved.read_bytes())
    (cache / "models--org--tiny" / "refs").mkdir()
    (cache / "models--org--tiny" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    ref = tokenizer_ref("org/tiny")
    assert ref == TokenizerRef(location="org/tiny")
    _same(ref.load(), saved)


def test_errors_are_clear_and_never_reach_the_hub(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no tokenizer.json"):
        tokenizer_ref(tmp_path / "empty")
    for missing in (str(tmp_path / "missing"), "./nope", "~/nope/tok", "tok.json"):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            tokenizer_ref(missing)
    with pytest.raises(ValueError, match="no tokenizer given"):
        tokenizer_ref("")
    with pytest.raises(ValueError, match="either a location or"):
        TokenizerRef()
