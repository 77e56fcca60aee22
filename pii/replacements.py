"""What a redacted value becomes, in two modes, and how a replacement is recognised again.

* ``stackcurate`` (default): emails -> fixed ``@example.com`` addresses; IPs ->
  private addresses of the same version; keys -> a random string of the same
  shape (digit -> digit, lower -> lower, upper -> upper, hex stays hex,
  punctuation and ``\\n``-style escapes kept) with **no** type prefix kept
  (``AKIA...`` becomes ``QZXW...``), so no scanner sees a credential format in
  the output. The last few letters and digits of a key replacement are a keyed
  BLAKE2b check of the rest: ``is_replacement_key`` recognises our own
  replacements, so running the stage on its output changes nothing, while a
  real secret passes the check by chance with odds of at most 1 in 1,000 (12+
  letters and digits: 1 in 10,000; 24+: 1 in 1,000,000).
* ``bigcode``: the fixed pools of bigcode-project/bigcode-dataset
  ``pii/replacements.json`` (the file their ``main.py`` loads by default),
  drawn with ``random.choice`` per distinct value as their
  ``pii/pii_redaction.py`` does. Keys become one of ten 32-character strings,
  so ``is_replacement_key`` knows those ten too.
"""

from __future__ import annotations

import hashlib
import random
import re
import string

EMAIL_REPLACEMENTS: tuple[str, ...] = (
    "qkzvm@example.com", "hrtwe@example.com", "pldsx@example.com", "nyoac@example.com", "bwfgu@example.com",
    "tjmei@example.com", "xcarv@example.com", "glunp@example.com", "vdohs@example.com", "eyqbk@example.com",
)  # fmt: skip
IPV4_REPLACEMENTS: tuple[str, ...] = (
    "10.17.42.3",
    "10.203.8.61",
    "172.20.14.9",
    "172.29.201.77",
    "192.168.47.12",
)
IPV6_REPLACEMENTS: tuple[str, ...] = (
    "fd3a:9c21:7e4b::15",
    "fd5e:11d0:c8a2:4f07::2",
    "fd81:b7e3:29c5:d4a0:6f12:3b98:e07c:51d4",
    "fdc4:62af:0b19::a3",
    "fdf0:2d8e:94b7:1c60::7",
)

# bigcode-project/bigcode-dataset, pii/replacements.json (commit 5cb43e9): data, reproduced for faithful runs.
BIGCODE_EMAILS: tuple[str, ...] = (
    "ychag@example.com", "nnheo@example.com", "envkt@example.com", "upchh@example.com", "anpch@example.com",
    "lyhxr@example.com", "efpyi@example.com", "hzdkv@example.com", "dycjh@example.com", "kenaa@example.com",
)  # fmt: skip
BIGCODE_KEYS: tuple[str, ...] = (
    "9jnerlff23u8ed01np9g6ysbhsh0dvcs", "caf86f4uutaoxfysmf7anj01xl6sv3ps", "vqbpgud2ghvjgm1n5hdgjnn5818fzsf2",
    "949d1u22cbffbrarjh182eig55721odj", "9q3vfhm7l33rus21toc8fndupq76itje", "ax5kh6jaqkcd2tiexxs8v6xjo8yv8a6b",
    "se2xy1bknelxn4y8xzxu3trosptip3q5", "74t3tndxag9o7h0890bnpfzh4olk2h9x", "ngw6fo1pu3tjgnp9jnlp7vnwvfqb9yn7",
    "kgfhvu9qnh3mr6eel97y6fq2hezzol8z",
)  # fmt: skip
BIGCODE_IPV4: tuple[str, ...] = (
    "172.16.31.10",
    "172.16.58.3",
    "172.16.17.32",
    "192.168.127.12",
    "192.168.3.11",
)
BIGCODE_IPV6: tuple[str, ...] = (
    "fd00:c2b6:b24b:be67:2827:688d:e6a1:6a3b",
    "fd00:a516:7c1b:17cd:6d81:2137:bd2a:2c5b",
    "fc00:e968:6179::de52:7100",
    "fc00:db20:35b:7399::5",
    "fdf8:f53e:61e4::18",
)
_BIGCODE_KEY_SET = frozenset(BIGCODE_KEYS)

_CHECK_KEY = b"stackcurate/pii/replacement/v1"
_HEX_CHARS = frozenset(string.hexdigits)
_ALPHABETS = {
    ("digit", False): string.digits,
    ("digit", True): string.digits,
    ("lower", False): string.ascii_lowercase,
    ("lower", True): "abcdef",
    ("upper", False): string.ascii_uppercase,
    ("upper", True): "ABCDEF",
}
# A URL's scheme and host name no secret (a Slack webhook's secret is its path): kept, the path is not.
_URL_HEAD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s]+/")


def _char_class(char: str) -> str | None:
    if "0" <= char <= "9":
        return "digit"
    if "a" <= char <= "z":
        return "lower"
    if "A" <= char <= "Z":
        return "upper"
    return None


def _random_positions(value: str) -> list[int]:
    """Offsets of the ASCII letters and digits a replacement draws anew (not escapes, not a URL head)."""
    head = _URL_HEAD.match(value)
    positions = []
    escaped = False
    for i in range(head.end() if head else 0, len(value)):
        char = value[i]
        if escaped:
            escaped = False  # the letter of \n, \r, \t ... stays
        elif char == "\\":
            escaped = True
        elif _char_class(char):
            positions.append(i)
    return positions


def _check_length(n: int) -> int:
    if n < 4:
        return 0
    return 3 if n < 12 else 4 if n < 24 else 6


def _check_chars(value: str, positions: list[int]) -> tuple[list[int], str]:
    """The check positions (the last letters / digits) and the characters they must hold."""
    k = _check_length(len(positions))
    if not k:
        return [], ""
    body, checks = positions[:-k], positions[-k:]
    hexish = all(value[p] in _HEX_CHARS for p in body)
    masked = list(value)
    for p in checks:
        masked[p] = "\x00"
    digest = hashlib.blake2b(
        "".join(masked).encode("utf-8", "surrogatepass"), key=_CHECK_KEY, digest_size=16
    ).digest()
    expected = []
    for i, p in enumerate(checks):
        alphabet = _ALPHABETS[(_char_class(value[p]), hexish)]
        expected.append(alphabet[digest[i] % len(alphabet)])
    return checks, "".join(expected)


def shaped_key(value: str, rng: random.Random) -> str:
    """A random string of ``value``'s shape (no type prefix kept) that ``is_replacement_key`` recognises."""
    positions = _random_positions(value)
    hexish = all(value[p] in _HEX_CHARS for p in positions)
    chars = list(value)
    for p in positions:
        chars[p] = rng.choice(_ALPHABETS[(_char_class(value[p]), hexish)])
    checks, expected = _check_chars("".join(chars), positions)
    for p, char in zip(checks, expected, strict=True):
        chars[p] = char
    return "".join(chars)


def is_replacement_key(value: str) -> bool:
    """True for a key replacement of either mode (ours passes its check; BigCode's is one of its ten)."""
    if value in _BIGCODE_KEY_SET:
        return True
    checks, expected = _check_chars(value, _random_positions(value))
    return bool(checks) and "".join(value[p] for p in checks) == expected
