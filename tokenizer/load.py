"""The one tokenizer loader: a local file or folder, ``gs://`` / ``s3://`` (Beam's filesystems), ``hf://`` or a Hub id.

Why one: fertility, tokenization, training and the model code all need "a
``tokenizers.Tokenizer`` from what the user typed", and remote Beam workers
cannot open the launching machine's paths. :func:`tokenizer_ref` is called
where the pipeline graph is built: a local tokenizer is read there and its JSON
travels with the stage as bytes (a 49k-token ``tokenizer.json`` is ~2 MB); a
remote location or Hub id travels as text and is read where it is used.

Rules for a spec: a folder (local or remote) holds ``tokenizer.json`` (a local one may
instead hold GPT-2's ``vocab.json`` + ``merges.txt``); a remote
spec ending in ``.json`` is the file itself; a local-looking spec (starts with
``/``, ``.`` or ``~``, or ends with ``.json``) that does not exist is an error,
never a Hub request; anything else is a Hub id. Truncation and padding are
always off: token counts and model inputs must see every token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from pipeline.store import is_remote, read_bytes

TOKENIZER_FILE = "tokenizer.json"
GPT2_FILES = ("vocab.json", "merges.txt")  # a byte-level BPE saved the way GPT-2 ships it


def _local_json(spec: str) -> bytes | None:
    """The JSON of the local tokenizer ``spec`` names (a ``tokenizer.json``, a folder holding one, or a
    folder holding GPT-2's ``vocab.json`` + ``merges.txt``), None for a Hub id; errors for a missing local path."""
    path = Path(os.path.expanduser(spec.removeprefix("file://")))
    if path.is_dir():
        if (path / TOKENIZER_FILE).is_file():
            return (path / TOKENIZER_FILE).read_bytes()
        if all((path / name).is_file() for name in GPT2_FILES):
            from tokenizers import ByteLevelBPETokenizer

            bpe = ByteLevelBPETokenizer(*(str(path / name) for name in GPT2_FILES))
            return bpe.to_str().encode("utf-8")
        raise FileNotFoundError(
            f"tokenizer directory {spec!r} holds no {TOKENIZER_FILE} (nor {' + '.join(GPT2_FILES)})"
        )
    if path.is_file():
        return path.read_bytes()
    if spec.startswith(("/", ".", "~", "file://")) or spec.endswith(".json"):
        raise FileNotFoundError(f"tokenizer file {spec!r} does not exist")
    return None


@dataclass(frozen=True)
class TokenizerRef:
    """What a worker needs to load a tokenizer: its JSON (``json``) or where to read it (``location``).

    A local tokenizer is held as bytes only, never as its path (the path would mean
    nothing on a remote worker, and must not leave the launching machine).
    """

    location: str | None = None  # remote URL or Hub id
    json: bytes | None = None

    def __post_init__(self) -> None:
        if (self.location is None) == (self.json is None):
            raise ValueError("a TokenizerRef holds either a location or the tokenizer's JSON bytes")

    def describe(self) -> str:
        return self.location or f"a {len(self.json)}-byte tokenizer.json shipped with the stage"

    def load(self) -> Tokenizer:
        if self.json is not None:
            tokenizer = Tokenizer.from_str(self.json.decode("utf-8"))
        elif is_remote(self.location):
            url = self.location.rstrip("/")
            url = url if url.endswith(".json") else f"{url}/{TOKENIZER_FILE}"
            tokenizer = Tokenizer.from_str(read_bytes(url).decode("utf-8"))
        else:  # huggingface_hub, not Tokenizer.from_pretrained: it honours HF_ENDPOINT, offline mode and the cache
            from huggingface_hub import hf_hub_download

            tokenizer = Tokenizer.from_file(hf_hub_download(self.location, TOKENIZER_FILE))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer


def tokenizer_ref(spec: str | Path) -> TokenizerRef:
    """Resolve ``spec`` where the pipeline is built: a local tokenizer is read now and kept as bytes."""
    spec = str(spec) if spec is not None else ""
    if not spec:
        raise ValueError("no tokenizer given: name a tokenizer.json, a folder holding one, a URL or a Hub id")
    if is_remote(spec):
        return TokenizerRef(location=spec)
    local = _local_json(spec)
    return TokenizerRef(location=spec) if local is None else TokenizerRef(json=local)


def load_tokenizer(spec: str | Path) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` (truncation and padding off) from any spec this module accepts."""
    return tokenizer_ref(spec).load()
