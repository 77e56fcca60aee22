"""Where the presets and their variants live: a module without Beam, so ``--help`` can list them."""

from pathlib import Path

PRESETS_DIR = Path(__file__).parent / "presets"
VARIANTS_DIR = PRESETS_DIR / "variants"
