"""Key-like names: which identifiers name a credential (``api_key``, ``DB_PASSWORD``, ``Authorization``).

Shared by the context recognizer (``pii.keys``) and the guards
(``pii.key_guards``); no Presidio here, so guards import it cheaply.
"""

from __future__ import annotations

import functools
import re

KEY_ENTITY = "KEY"
SOURCE_KEY = "detect_secrets_plugin"  # recognition-metadata key naming the detector (guards read it)

# A name field, up to where its value (a key-like name, perhaps) starts: ``"name": "``, ``- name: ``,
# ``Name='``, ``.withName("``. The value field beside it holds the secret (``pii.keys``); the pre-scan brings
# the next line along after such a line (``pii.prescan``).
NAME_FIELD = r"(?:(?<![\w-])(?:name|Name|NAME|key|Key|ParameterKey)[\"']?[ \t]*[:=][ \t]*|\.with[Nn]ame\([ \t]*)[\"'`]?"

# --- key-like names ------------------------------------------------------------------------------------
_PASSWORD_WORDS = frozenset(
    {"password", "passwd", "pwd", "pass", "passphrase", "passcode", "contraseña", "contrasena", "dbpass",
     "dbpassword", "keypass"}
)  # fmt: skip
_SECRET_WORDS = frozenset(
    {"secret", "secrets", "token", "apikey", "apitoken", "accesstoken", "authtoken", "secretkey", "privatekey",
     "accesskey", "authkey", "servicekey", "accountkey", "dbkey", "clientkey", "masterkey", "signingkey",
     "encryptionkey", "appkey", "consumerkey", "privkey", "clientsecret", "credential", "credentials", "creds",
     "auth", "authorization", "bearer", "jwt", "sessionkey", "webhooksecret"}
)  # fmt: skip
# A word after the credential word that makes the name about something else: an id, a name, a location ...
_HEAD_BLOCKERS = frozenset(
    {"id", "ids", "name", "names", "url", "uri", "urls", "endpoint", "host", "hostname", "path", "file",
     "filename", "dir", "length", "len", "size", "type", "types", "version", "count", "header", "prefix",
     "suffix", "field", "fields", "param", "params", "format", "pattern", "regex", "regexp", "env", "var",
     "expire", "expires", "expiry", "expiration", "ttl", "timeout", "hash", "hashed", "sha", "md", "digest",
     "checksum", "fingerprint", "label", "placeholder", "hint", "description", "desc", "help", "message", "msg",
     "error", "text", "title", "prompt", "column", "attr", "attribute", "class", "style", "method", "mode",
     "policy", "provider", "store", "keystore", "keytab", "keychain", "keyring", "alias", "pair", "spec",
     "template", "input", "reset", "min", "max", "rule", "rules", "strength", "validator", "validation",
     "required", "enabled", "mask", "masked", "encoder", "decoder", "generator", "manager", "counter", "kind",
     "usage", "scope", "scopes", "audience", "issuer", "algorithm", "alg", "lifetime", "location", "source",
     "ref", "handler", "callback", "listener", "event", "request", "response", "link", "property", "option",
     "options", "setting", "settings", "flag", "flags", "model", "index", "idx", "cache", "bucket", "schema",
     "sequence", "board", "code", "press", "pressed", "up", "down", "left", "right", "word", "selector",
     "frame", "mesh", "stone", "storetype", "chars", "alphabet", "charset", "separator", "delimiter", "list",
     "map", "dict", "set", "iterator", "stream", "reader", "writer", "builder", "factory", "util", "utils",
     "helper", "service", "client", "storage", "cookie", "session", "salt", "nonce", "iv"}
)  # fmt: skip
# A word before the credential word that makes it something other than a credential.
_PREFIX_BLOCKERS = frozenset(
    {"csrf", "xsrf", "public", "pub", "next", "page", "continuation", "pagination", "cancellation", "cancel",
     "eos", "bos", "pad", "unk", "cls", "sep", "mask", "special", "start", "end", "begin", "stop", "lexer",
     "parser", "syntax", "sort", "primary", "foreign", "partition", "cache", "idempotency", "dummy", "fake",
     "example", "sample", "mock", "test", "demo", "hash", "bucket", "schema", "sequence", "lookup", "row", "map", "dict", "update", "sync", "change", "request", "resume", "retry", "lock",
     "lease", "concurrency", "marker"}
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^a-z0-9ñ]+")


def name_words(name: str) -> list[str]:
    """``aws_secretAccessKey`` -> ``["aws", "secret", "access", "key"]`` (trailing digits dropped)."""
    words = _SPLIT.split(_CAMEL.sub("_", name).lower())
    return [w.rstrip("0123456789") for w in words if w.rstrip("0123456789")]


@functools.lru_cache(maxsize=1 << 16)  # names repeat within and across files; the answer is the name's alone
def key_name_kind(name: str) -> str | None:
    """``"password"`` or ``"secret"`` when ``name`` names a credential, else ``None``.

    The credential word is the head (the last one): words after it turn the
    name into something else (``token_type``, ``password_hash``, ``api_key_id``),
    some words before it too (``csrf_token``, ``public_key``, ``pad_token``).
    ``key`` counts after another word (``api_key``, ``STRIPE_KEY``), never alone
    (dict keys); ``cache_key``, ``sort_key``, ``public_key`` ... are blocked.
    """
    words = name_words(name)
    head = -1
    kind = None
    for i, word in enumerate(words):
        if word in _PASSWORD_WORDS:
            head, kind = i, "password"
        elif word in _SECRET_WORDS or (word == "key" and i > 0):
            head, kind = i, kind if kind == "password" else "secret"
    if kind is None:
        return None
    if any(w in _HEAD_BLOCKERS for w in words[head + 1 :]) or any(
        w in _PREFIX_BLOCKERS for w in words[:head]
    ):
        return None
    return kind


_NAME_BEFORE = re.compile(
    r"(?P<name>[$@]?[A-Za-z_][\w.\-]{0,60})[\"'`]?\]?\s*(?:=>|:=|=|:|,)\s*[\"'`]?(?:(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+)?$"
)


def assigned_name(text: str, start: int) -> str | None:
    """The name the value at ``start`` is assigned or mapped to on its line (``None``: no such shape)."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 200)
    match = _NAME_BEFORE.search(text, line_start, start)
    return match.group("name").lstrip("$@") if match else None


def names_something_else(name: str) -> bool:
    """Whether any word of ``name`` turns a credential name into something else (``sha256``, ``key_id`` ...)."""
    return any(w in _HEAD_BLOCKERS or w in _PREFIX_BLOCKERS for w in name_words(name))


def has_credential_word(name: str) -> bool:
    """Whether ``name`` holds a credential word at all (``secretName`` does; ``MantleAPI_version`` does not)."""
    return any(w in _PASSWORD_WORDS or w in _SECRET_WORDS or w == "key" for w in name_words(name))
