"""``cli.imports.hidden_while_importing``: a library's guarded optional import fails inside the block, in
that thread only, and works afterwards; a module already imported is never hidden."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from cli.imports import hidden_while_importing

LIBRARY = """
try:
    from {name}_extra import feature
except ImportError:
    feature = None
"""


@pytest.fixture
def library(tmp_path, monkeypatch, request):
    """A library ``<name>_lib`` whose import takes ``<name>_extra`` when it can, as Beam and Presidio do."""
    name = f"hide_{request.node.name[-20:].replace('-', '_')}"
    (tmp_path / f"{name}_lib.py").write_text(LIBRARY.format(name=name))
    (tmp_path / f"{name}_extra.py").write_text("feature = 'extra'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in (f"{name}_lib", f"{name}_extra"):
        sys.modules.pop(module, None)


def test_the_library_imports_whole_without_the_hidden_module_which_imports_after(library):
    with hidden_while_importing([f"{library}_extra"]):
        lib = __import__(f"{library}_lib")
    assert lib.feature is None
    assert f"{library}_extra" not in sys.modules
    assert __import__(f"{library}_extra").feature == "extra"
    assert not any(type(finder).__module__ == "cli.imports" for finder in sys.meta_path)


def test_other_threads_import_it_meanwhile(library):
    seen = []
    with hidden_while_importing([f"{library}_extra"]):
        thread = threading.Thread(target=lambda: seen.append(__import__(f"{library}_extra").feature))
        thread.start()
        thread.join()
    assert seen == ["extra"]


def test_a_module_imported_already_is_not_hidden(library):
    __import__(f"{library}_extra")
    with hidden_while_importing([f"{library}_extra"]):
        lib = __import__(f"{library}_lib")
    assert lib.feature == "extra"


def test_presidio_imports_without_the_nlp_stacks_it_would_load():
    """``pii.detect.import_presidio`` in a fresh interpreter: transformers and torch stay out (seconds)."""
    code = (
        "import sys\nfrom pii.detect import import_presidio\nimport_presidio()\n"
        "print(sorted(m for m in ('presidio_analyzer', 'transformers', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == "['presidio_analyzer']"
