"""False-positive guards for keys: strings in code that look like secrets but are not.

``key_guard`` returns a short reason when a key candidate must be left alone,
or ``None``. What it asks depends on who found the candidate (``source``):

* structured formats (AWS, GitHub, Slack, JWT ... detect-secrets plugins and
  ``pii.keys`` patterns): only the cheap checks; the format is the evidence;
* a value beside a key-like name (``pii.keys.KeyContextRecognizer``, or an
  entropy hit whose line assigns it to such a name): is the *value* a
  credential (not a reference, path, identifier, placeholder, low-entropy
  word)? The name already says what it is, so the hash, hex and UUID guards
  yield to it;
* entropy hits without such a name, detect-secrets keyword / basic-auth hits:
  the full set below (hashes, ids, paths, blobs, words).

Our own replacements (``pii.replacements.is_replacement_key``) are always left
alone: that is what makes the stage idempotent.
"""

from __future__ import annotations

import base64
import binascii
import math
import re

from detect_secrets.filters import heuristic

from pii.guards import line_around
from pii.key_names import assigned_name, has_credential_word, key_name_kind
from pii.replacements import is_replacement_key

_HASH_WORDS = re.compile(
    r"sha\d*|md5|md4|hash|digest|checksum|integrity|etag|fingerprint|crc|commit|revision|\brev\b|blake|hmac_expected"
    r"|git_?sha|\bsum\b|test_?vector|nonce|opaque",
    re.IGNORECASE,
)
_SECRET_WORDS = re.compile(
    r"key|secret|token|passw|pwd|auth|credential|private|api|bearer|signature|salt|session|cookie|access",
    re.I,
)
_SRI_VALUE = re.compile(r"^sha(?:1|256|384|512)-[A-Za-z0-9+/=]+$", re.IGNORECASE)
_SRI_PREFIX = re.compile(r"(?:sha(?:256|384|512)-|base64,)$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_PATH_LIKE = re.compile(r"^[\w.-]*(?:/[A-Za-z_][\w.-]*){2,}/?$")
_ABSOLUTE_PATH = re.compile(
    r"^(?:~|\.{1,2})?/[\w.\-]*[a-z]{3}[\w.\-/]*$"
)  # /run/secrets/x, ~/.ssh/id; not "/Ab+c=="
# A resource name: a lower-case word, a slash, then anything (projects/123/global/networks/x, fileStores/5en0...).
_RESOURCE_NAME = re.compile(r"^[a-z][a-zA-Z]{4,}/[\w.\-/]+$")
# Well-known default passwords: in code they are the documented default, not anyone's secret.
_DEFAULT_PASSWORD = re.compile(
    r"^(?:admin|root|test|user|guest|demo|pass|password|passw0rd|p@ssw0rd|secret|qwerty|letmein|welcome|changeme"
    r"|default|master|oracle|postgres|mysql)[\d!@#.]*$",
    re.IGNORECASE,
)
_PLACEHOLDER_WORDS = (
    "your", "xxx", "changeit", "password", "secret", "example", "dummy", "fake", "sample", "placeholder", "replace",
    "insert", "enter", "redacted", "todo", "fixme", "none", "null", "undefined", "default",
)  # fmt: skip
# Placeholder words in one case (lower, UPPER, Capitalized: "NuLL" inside a random token is not "null"), and
# templates: <...>, {...}, ${...}, $VAR, $(cmd), %s, %(name)s, %VAR%, ***.
_PLACEHOLDER_SECRET = re.compile(
    "|".join(f"{w}|{w.upper()}|{w.capitalize()}" for w in _PLACEHOLDER_WORDS)
    + r"|[cC]hange.?[mM]e|CHANGE.?ME|\*\*\*|<|>|\{|\}|^\$|\$\(|%[sdr(]|%\w+%"
)
_IDENTIFIER = re.compile(
    r"^(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*|[a-z]+(?:[A-Z][a-z]+)+|[A-Z][a-z]+(?:[A-Z][a-z]+)*)$"
)
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$")
_FILE_NAME = re.compile(
    r"\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|ya?ml|txt|env|ini|cfg|conf|properties|py|js|ts|java|xml|sh)$",
    re.I,
)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+.][\w.]+)?$")
# A call or subscript in the value itself (``get_secret("x")``, ``os.environ["PW"]``); a literal value on a
# line that also calls something (``Redis(password="...")``) is still a literal.
_REFERENCE = re.compile(r"^[\w.]+[\[(]")
_REPEATED = re.compile(r"([A-Za-z0-9])\1{9}")  # ten of one character: a placeholder, not a random token
_HOST_PORT = re.compile(r"^[A-Za-z][\w.-]*:\d{1,5}$")
_WORD_SEGMENT = re.compile(r"^(?:[A-Za-z][a-z]*|[A-Z]+)\d{0,3}$|^\d{1,4}$")
_CAMEL_PIECES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PEM_NOISE = re.compile(r"\\[nrt]|[^A-Za-z0-9+/=]")
_PEM_PLACEHOLDER = re.compile(
    r"\.\.\.|[<>{}$]|(?<![A-Za-z0-9])(?:your|insert|paste|redacted|example|placeholder|dummy|fake|replace|"
    r"truncated|omitted|x{3,}|X{3,})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PEM_CODE = re.compile(r"[(){};]|\s=\s|(?<=[A-Za-z0-9])=[^=\s\"'\\+]")
# Keys published for everyone to use: the Azure Storage emulator's account key (in every Azure SDK's tests).
_PUBLIC_TEST_KEYS = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2",)
HEURISTIC_SOURCES = frozenset(
    {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "BasicAuthDetector"}
)
BASE64_ENTROPY_LIMIT = 4.5  # detect-secrets' default: its base64 plugin's limit, and ours for comment labels


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _mostly_ascending(value: str) -> bool:
    """True when many neighbouring characters are consecutive code points (abc..., 0123..., ABC...).

    Random tokens have ~2 % such steps; ``abc123xyz-456def...`` placeholders half or more.
    """
    if len(value) < 8:
        return False
    share = 0.5 if len(value) >= 24 else 0.7
    steps = sum(ord(b) - ord(a) == 1 for a, b in zip(value, value[1:], strict=False))
    interleaved = sum(ord(b) - ord(a) == 1 for a, b in zip(value, value[2:], strict=False))  # 1a2b3c4d-5e6f
    return steps >= share * (len(value) - 1) or interleaved >= share * (len(value) - 2)


def _previous_line(text: str, start: int) -> str:
    line_start = text.rfind("\n", 0, start)
    if line_start <= 0:
        return ""
    prev_start = text.rfind("\n", max(0, line_start - 300), line_start)
    return text[prev_start + 1 : line_start]


def _encoded_text(value: str) -> bool:
    """Base64 that decodes to readable text (not ``user:password``): a test vector, not a key.

    A random token read as base64 decodes to random bytes, few of them printable.
    """
    body = value.replace("\\n", "").rstrip("=")
    if len(body) < 16 or not _B64_BODY.match(body):
        return False
    try:
        decoded = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        return False
    text = decoded.decode("ascii", "replace")
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in decoded)
    return printable >= 0.95 * len(decoded) and not _CREDENTIAL_PAIR.match(text)


_B64_BODY = re.compile(r"^[A-Za-z0-9+/]+$")
_CREDENTIAL_PAIR = re.compile(r"^[^\s:]+:\S+$")  # "user:password" in base64 is a Basic-auth credential


def _glued(text: str, start: int, end: int) -> bool:
    """Whether the match continues a longer run of base64 characters on both sides."""
    return start > 0 and end < len(text) and text[start - 1] in _BASE64_CHARS and text[end] in _BASE64_CHARS


_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _word_like(value: str) -> bool:
    """Made of words (``github-oauth2``, ``HTTPBasicAuth``, ``prod_db_v2``), not random characters."""
    segments = [s for s in re.split(r"[-_.:/]+", value) if s]
    if not segments or not all(_WORD_SEGMENT.match(s) or _camel_words(s) for s in segments):
        return False
    letters = [c for c in value if c.isalpha()]
    vowels = sum(c in "aeiouyAEIOUY" for c in letters)
    return not letters or vowels >= 0.25 * len(letters)


def _camel_words(segment: str) -> bool:
    """``HTTPBasicAuth``, ``NFCISO15693ReadMultipleBlocks``: a few long pieces, digits at most twice, one
    one-letter piece at most (hex and random tokens alternate short letter and digit runs)."""
    pieces = _CAMEL_PIECES.findall(segment)
    if "".join(pieces) != segment or len(segment) < 3 * len(pieces):
        return False
    digit_runs = sum(p.isdigit() for p in pieces)
    one_letter = sum(len(p) == 1 and p.isalpha() for p in pieces)
    return digit_runs <= 2 and one_letter <= 1


def key_guard(value: str, text: str, start: int, end: int, source: str) -> str | None:
    """Why a key-looking match is not a secret, or ``None`` (see the module docstring)."""
    if is_replacement_key(value):
        return "replacement"  # ours or BigCode's: redacted already
    if heuristic.is_templated_secret(value) or heuristic.is_not_alphanumeric_string(value):
        return "template"
    if "EXAMPLE" in value.upper():
        return "example_key"  # AWS's documented AKIAIOSFODNN7EXAMPLE and friends
    if value.startswith(_PUBLIC_TEST_KEYS):
        return "public_test_key"
    if _SRI_VALUE.match(value):
        return "hash"  # subresource integrity: sha384-<base64 digest>
    if heuristic.is_sequential_string(value) or _mostly_ascending(value):
        return "sequential"  # alphabets: "abcdefghijklmnopqrstuvwxyz0123456789_"
    if source == "PrivateKeyBlock":
        return _private_key_guard(value)
    if _REPEATED.search(value):
        return "placeholder_token"  # ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
    if source.startswith("KeyContext"):
        kind, bare, name = source.partition(":")[2], source.startswith("KeyContextBare"), None
    elif source in ("Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector"):
        name = assigned_name(text, start)
        kind, bare = (key_name_kind(name) if name else None), False
        if name and not kind and has_credential_word(name):
            return "not_a_credential_name"  # secretName, public_key, csrf_token, api_key_sha256 ...
    else:
        kind, bare, name = None, False, None
    if heuristic.is_potential_uuid(value) and not kind:
        return "uuid"
    if source not in HEURISTIC_SOURCES and not kind and source != "CommentLabel":
        if _glued(text, start, end):
            return "inside_blob"  # AKIA... inside a long base64 run (an embedded wasm / image), not a key
        return None  # a structured format
    before, after = line_around(text, start, end)
    line = before + value + after
    if not source.startswith("KeyContext") and heuristic.is_likely_id_string(value, line):
        return "id_string"
    if kind:
        return _credential_guard(value, kind, bare)
    if source in ("KeywordDetector", "BasicAuthDetector"):
        return _keyword_guard(value)
    return _entropy_guard(value, text, start, before, source, name)


def _credential_guard(value: str, kind: str, bare: bool) -> str | None:
    """A value a key-like name points at: is it a credential, or a reference / path / word / placeholder?"""
    if heuristic.is_prefixed_with_dollar_sign(value) or _REFERENCE.search(value):
        return "template"
    if _PLACEHOLDER_SECRET.search(value):
        return "placeholder_secret"
    if _DOTTED_NAME.match(value) and _word_like(value.rsplit(".", 1)[1]):
        return "reference"  # settings.SECRET_KEY, self.password, org.example.curve_type, P11Key.privateKey
    if "://" in value or _PATH_LIKE.match(value) or _ABSOLUTE_PATH.match(value):
        return "path"
    if _RESOURCE_NAME.match(value):
        return "path"
    if _DEFAULT_PASSWORD.match(value):
        return "default_password"  # 'PASSWORD': 'admin123' in a test container's settings
    if _FILE_NAME.search(value):
        return "file_name"  # key_file = "server.pem"
    if _VERSION.match(value):
        return "version"
    if _HOST_PORT.match(value):
        return "host_port"
    if _IDENTIFIER.match(value):
        return "identifier"
    entropy = shannon_entropy(value)
    has_digit = any(c.isdigit() for c in value)
    if kind == "password":
        if len(value) < 8:
            return "too_short"
        if entropy < 2.5 or not re.search(r"[0-9]|[^\w]|[A-Z].*[a-z]|[a-z].*[A-Z]", value):
            return "weak_value"
        if bare and _word_like(value):
            return "identifier"  # password: hunter_input (an unquoted value in code is a name)
        return None
    if len(value) < 12:
        return "too_short"
    if value.isdigit():
        return "number"
    if _word_like(value):
        return "identifier"
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    if entropy < 3.0 or not (has_digit or (mixed and len(value) >= 20)):
        return "weak_value"
    if bare and (entropy < 3.3 or not has_digit):
        return "weak_value"
    return None


def _keyword_guard(value: str) -> str | None:
    """detect-secrets keyword / basic-auth hits (``password = "..."``, ``://user:pass@``)."""
    if heuristic.is_prefixed_with_dollar_sign(value) or _REFERENCE.search(value):
        return "template"
    if len(value) < 8 or _PLACEHOLDER_SECRET.search(value) or _IDENTIFIER.match(value):
        return "placeholder_secret"
    if _DEFAULT_PASSWORD.match(value):
        return "default_password"
    if shannon_entropy(value) < 2.5 or not re.search(r"[0-9]|[^\w]|[A-Z].*[a-z]|[a-z].*[A-Z]", value):
        return "weak_value"
    return None


def _entropy_guard(
    value: str, text: str, start: int, before: str, source: str, name: str | None
) -> str | None:
    """High-entropy strings with no key-like name beside them: digests, ids, paths, blobs, words.

    The "secret context" a hex string needs is its name when it has one (``MantleAPI_version`` has
    none), else the words of its line and the line before.
    """
    if _SRI_PREFIX.search(before):
        return "hash"  # subresource integrity / data: URI payload
    context = name if name else before + " " + _previous_line(text, start)
    hashy = bool(_HASH_WORDS.search(context))
    secret_context = not name and bool(_SECRET_WORDS.search(context))  # a key-like name went elsewhere
    if source == "HexHighEntropyString" or _HEX.match(value):
        if hashy:
            return "hash"
        if len(value) < 32 or not secret_context:
            return "hex_without_secret_context"  # digests, test vectors, colours, ids
        return None
    if len(value) < 20:
        return "too_short"
    if len(value) > 200:
        return "blob"  # embedded data, not a credential
    if hashy and len(value) in {22, 24, 27, 28, 43, 44, 64, 86, 88}:
        return "hash"  # base64 digests of md5 / sha1 / sha256 / sha384 / sha512
    if _PATH_LIKE.match(value) or _RESOURCE_NAME.match(value):
        return "path"
    if _word_like(value):
        return "word_like"  # NFCISO15693ReadMultipleBlocksConfiguration
    if source == "Base64HighEntropyString" and _encoded_text(value):
        return "encoded_text"  # base64 of readable text (test vectors: b"YWJjZGVmZ2hp..." is "abcdefghi...")
    if source == "CommentLabel" and shannon_entropy(value) <= BASE64_ENTROPY_LIMIT:
        return "low_entropy"
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    if not has_digit or not (has_upper or has_lower):
        return "word_like"
    if not (has_upper and has_lower) and len(value) < 32 and not secret_context:
        return "word_like"
    return None


def _private_key_guard(value: str) -> str | None:
    """A private-key body is a secret whatever it looks like, unless it is a placeholder or code."""
    body = _PEM_NOISE.sub("", value)
    if len(body) < 16 or len(set(body)) <= 4 or _PEM_PLACEHOLDER.search(value):
        return "placeholder_key_block"  # "-----BEGIN PRIVATE KEY-----\nXXXX\n..." in docs
    if _PEM_CODE.search(value):
        return "code_between_armor"  # a PEM parser's BEGIN and END constants with code between them
    return None
