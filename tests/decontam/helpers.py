"""Test data for decontamination: the shared benchmark folder and real code from this machine."""

from __future__ import annotations

import random
import sysconfig
import zipfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BENCHMARKS = SHARED / "benchmarks"


def real_code(per_language: int, seed: int = 0) -> list[tuple[str, str]]:
    """(name, text) of ``per_language`` real files each of Python (stdlib), JavaScript (npm), Java (JDK)."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    py = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    js = sorted(Path("/usr/lib/node_modules").rglob("*.js"))
    for files in (py, js):
        picked = rng.sample(files, min(per_language, len(files)))
        out += [(str(p), p.read_text("utf-8", "replace")) for p in picked if p.is_file()]
    jdk = next((p for p in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")) if p.exists()), None)
    if jdk is not None:
        with zipfile.ZipFile(jdk) as z:
            names = sorted(
                n for n in z.namelist() if n.startswith("java.base/java/util/") and n.endswith(".java")
            )
            for name in rng.sample(names, min(per_language, len(names))):
                out.append((name, z.read(name).decode("utf-8", "replace")))
    return [(name, text) for name, text in out if text.strip()]
