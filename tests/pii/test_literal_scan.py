"""The compiled literal scan finds exactly what pyahocorasick finds (the pre-scan's reference)."""

from __future__ import annotations

import random

from pii import prescan
from pii.literal_scan import LiteralScanner


def _reference(text: str) -> list[int]:
    return prescan._literal_anchors(prescan._lower(text))


def test_same_ends_as_pyahocorasick_on_overlaps_and_case():
    scanner = LiteralScanner(prescan.KEY_LITERALS)
    text = "SecretKey = 'x'; my_api_key= 1; AccountKey=abc; ghp_AKIA; PRIVATE KEY; secretkeypass_ token"
    ends = scanner.ends(text)
    assert ends == _reference(text)
    assert text.index("SecretKey") + len("Secret") - 1 in ends  # "secret" and "secretkey" both end here
    assert text.index("SecretKey") + len("SecretKey") - 1 in ends
    assert scanner.ends("") == [] and scanner.ends("nothing to see here") == []


def test_same_ends_on_random_texts_and_many_matches():
    scanner = LiteralScanner(prescan.KEY_LITERALS)
    rng = random.Random(0)
    pieces = [*prescan.KEY_LITERALS[:60], "a", "K", "_", " ", "\n", "=", "Pass", "TOKEN", "xyz"]
    for _ in range(200):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 80)))
        if text.isascii():
            assert scanner.ends(text) == _reference(text)
    crowded = "token" * 1000  # more matches than the first buffer holds
    assert scanner.ends(crowded) == _reference(crowded)
    assert len(scanner.ends(crowded)) == 1000
