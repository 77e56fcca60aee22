"""SantaCoder's tokenizer and the tokenized training shards.

* ``tokenizer.sample_data``: Beam job drawing the per-language training sample (seeded).
* ``tokenizer.train``: byte-level BPE with a digit splitter, 49,152 tokens + 5 specials.
* ``tokenizer.fertility``: chars-per-token report per language beside a comparison tokenizer.
* ``tokenizer.tokenize``: curated parquet -> Megatron ``MMIDIDX`` shards (``tokenize_to_indexed``).
* ``tokenizer.indexed``: the ``MMIDIDX`` writer and memory-mapped reader.

Imports nothing of ours (package layout rule in DESIGN.md).
"""
