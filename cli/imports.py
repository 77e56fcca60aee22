"""Importing a library without optional modules it would pull in and our commands never use.

Why: some libraries import, at their own import, every optional integration that happens to be installed
(Presidio: ``transformers`` and ``torch`` for NLP engines we never use, several seconds; Beam: the
BigQuery and Pub/Sub clients, ~0.2 s of every local worker's start). Where the library guards those
imports (``try``/``except ImportError``), making them fail for the duration of that one import leaves the
library whole without them, and afterwards they import as usual. Only the importing thread is affected,
and a module already imported is never hidden.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


class _Hide(importlib.abc.MetaPathFinder):
    """Makes importing ``names`` (and their submodules) fail, in one thread only."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.thread = threading.get_ident()

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201 - importlib's protocol
        if threading.get_ident() == self.thread and any(
            name == hidden or name.startswith(hidden + ".") for hidden in self.names
        ):
            raise ImportError(f"{name} is hidden while another library is imported (cli.imports)")
        return None


@contextmanager
def hidden_while_importing(names: Sequence[str]) -> Iterator[None]:
    """Within the block, ``import`` of ``names`` (those not imported yet) fails in this thread."""
    hide = _Hide([name for name in names if name not in sys.modules])
    sys.meta_path.insert(0, hide)
    try:
        yield
    finally:
        sys.meta_path.remove(hide)
