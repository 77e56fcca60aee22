"""Train SantaCoder's tokenizer: byte-level BPE, one token per digit, 49,152 tokens + 5 specials.

Recipe (SantaCoder paper, "digit-bytelevel-bpe" tokenizer): GPT-2 byte-level BPE whose
pre-tokenizer first splits every digit into its own piece, so numbers are never merged.

Special tokens come *after* the base vocabulary, in SantaCoder's order (checked against the
published ``bigcode/santacoder`` ``added_tokens.json``: ``<|endoftext|>`` 49152, ``<fim-prefix>``
49153, ``<fim-middle>`` 49154, ``<fim-suffix>`` 49155, ``<fim-pad>`` 49156). They are appended
with ``add_special_tokens`` after training (passing them to the trainer would put them at 0-4).
The rule for any vocabulary size is therefore: special token ``k`` (0-4 in the order above) has
id ``base + k`` where ``base`` is the trained base vocabulary size; ``base == --vocab_size`` as
soon as the corpus has enough distinct byte pairs (real code: always; a tiny corpus may fall
short, which is logged as a warning and recorded in ``tokenizer_config.json``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from cli.command import CliParser, run_cli
from tokenizer.corpus import DEFAULT_BATCH_ROWS, count_rows, iter_texts, resolve_parquet_files

log = logging.getLogger(__name__)

EOD_TOKEN = "<|endoftext|>"
FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD = "<fim-prefix>", "<fim-middle>", "<fim-suffix>", "<fim-pad>"
SPECIAL_TOKENS = (EOD_TOKEN, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD)
DEFAULT_VOCAB_SIZE = 49_152
BYTE_ALPHABET_SIZE = 256
MODEL_MAX_LENGTH = 2048  # SantaCoder's context length


def new_tokenizer() -> Tokenizer:
    """An untrained tokenizer with SantaCoder's pre-tokenizer and decoder."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    return tokenizer


def special_token_ids(base_vocab_size: int) -> dict[str, int]:
    """The documented id rule: specials follow the base vocabulary in SantaCoder's order."""
    return {token: base_vocab_size + k for k, token in enumerate(SPECIAL_TOKENS)}


def _flatten(batches: Iterable[list[str] | str]) -> Iterator[str]:
    for batch in batches:
        if isinstance(batch, str):
            yield batch
        else:
            yield from batch


def train_tokenizer(
    texts: Iterable[list[str] | str],
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    length: int | None = None,
    min_frequency: int = 0,
    show_progress: bool = True,
) -> Tokenizer:
    """Train on a stream of texts (or batches of texts) and append the special tokens.

    Memory is bounded by the trainer's pair counts, not by the corpus: texts are consumed lazily.
    The full 256-byte alphabet is seeded so any input, even bytes never seen, encodes and decodes.
    """
    if vocab_size < BYTE_ALPHABET_SIZE:
        raise ValueError(f"vocab_size {vocab_size} is below the {BYTE_ALPHABET_SIZE}-byte alphabet")
    tokenizer = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=show_progress,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tokenizer.train_from_iterator(_flatten(texts), trainer=trainer, length=length)
    base = tokenizer.get_vocab_size()
    if base < vocab_size:
        log.warning(
            "the corpus only supports %d base tokens (< %d asked); special tokens start at id %d",
            base,
            vocab_size,
            base,
        )
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    expected = special_token_ids(base)
    actual = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    if actual != expected:  # would mean a special token was already a learned token
        raise RuntimeError(f"special token ids {actual} differ from {expected}")
    return tokenizer


def save_tokenizer(
    tokenizer: Tokenizer, output_dir: str | Path, requested_vocab_size: int | None = None
) -> Path:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    The config files are written by hand (no ``transformers`` needed at training time) in the
    form both transformers 4.x and 5.x read: ``AutoTokenizer.from_pretrained(DIR)`` gives a fast
    tokenizer whose bos/eos/unk are ``<|endoftext|>`` and whose additional specials are the FIM
    tokens. ``clean_up_tokenization_spaces`` is off so ``decode(encode(x)) == x`` holds there too.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out / "tokenizer.json"))
    base = tokenizer.get_vocab_size(with_added_tokens=False)
    special_map = {
        "bos_token": EOD_TOKEN,
        "eos_token": EOD_TOKEN,
        "unk_token": EOD_TOKEN,
        "additional_special_tokens": list(SPECIAL_TOKENS),
    }
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special_map,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MODEL_MAX_LENGTH,
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "base_vocab_size": base,
        "requested_vocab_size": requested_vocab_size if requested_vocab_size is not None else base,
        "special_token_ids": {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS},
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n")
    return out


def train_from_parquet(
    inputs: Iterable[str | Path] | str | Path,
    output_dir: str | Path,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    min_frequency: int = 0,
    show_progress: bool = True,
) -> dict:
    """Train on the ``content`` column of parquet files and save; returns a small summary."""
    files = resolve_parquet_files(inputs)
    rows = count_rows(files)
    log.info("training a %d-token BPE on %d rows from %d parquet files", vocab_size, rows, len(files))
    start = time.perf_counter()
    tokenizer = train_tokenizer(
        iter_texts(files, batch_rows),
        vocab_size,
        length=rows,
        min_frequency=min_frequency,
        show_progress=show_progress,
    )
    seconds = time.perf_counter() - start
    save_tokenizer(tokenizer, output_dir, requested_vocab_size=vocab_size)
    summary = {
        "files": len(files),
        "rows": rows,
        "base_vocab_size": tokenizer.get_vocab_size(with_added_tokens=False),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "special_token_ids": {t: tokenizer.token_to_id(t) for t in SPECIAL_TOKENS},
        "train_seconds": round(seconds, 2),
    }
    (Path(output_dir) / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m tokenizer.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", nargs="+", required=True, help="parquet files, directories or globs")
    parser.add_argument("--output", required=True, help="directory for tokenizer.json and config files")
    parser.add_argument("--vocab_size", type=int, default=DEFAULT_VOCAB_SIZE, help="base vocabulary size")
    parser.add_argument("--batch_rows", type=int, default=DEFAULT_BATCH_ROWS, help="rows per parquet read")
    parser.add_argument("--min_frequency", type=int, default=0, help="minimum pair count for a merge")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bars")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = train_from_parquet(
        args.input, args.output, args.vocab_size, args.batch_rows, args.min_frequency, not args.no_progress
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    run_cli(main, "tokenizer.train")
