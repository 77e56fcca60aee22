"""Our key recognizers, for what detect-secrets 1.5 misses (Presidio recognizers, ``KEY`` entity).

* ``KeyContextRecognizer``: a value beside a key-like *name*: assignments
  (``api_key = "..."``, ``TOKEN := "..."``, ``$token .= "..."``), keyword
  arguments, dict / object / JSON / YAML / INI keys, ``("API_KEY", "...")``
  call pairs (``os.environ.setdefault``, ``System.setProperty``, ``put``),
  ``--token VALUE`` flags, ``<password>VALUE</password>``, name / value
  field pairs (``{"name": "DB_PASSWORD", "value": "..."}``), and labelled
  values in comments (``// jwt: eyJ...``). The name says what the value is,
  so the hash and UUID guards yield to it (``pii.key_guards``).
* ``JwtRecognizer``: JSON Web Tokens anywhere, by shape (``eyJ`` header,
  ``ey`` payload, optional signature); no JSON decoding, so test tokens count.
* ``PrivateKeyBlockRecognizer``: the armor says what it is: everything between
  ``-----BEGIN ... PRIVATE KEY-----`` and its ``-----END`` line is the secret,
  base64 or not (also inside ``"...\\n" +`` concatenated literals).
* ``ExtraTokenRecognizer``: fixed, documented token formats detect-secrets
  1.5 has no plugin for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pii.detect import import_presidio
from pii.key_names import KEY_ENTITY, NAME_FIELD, SOURCE_KEY, key_name_kind, names_something_else

import_presidio()

from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: E402

# --- the context recognizer ------------------------------------------------------------------------
# A credential word, looked for in the lower-cased text; the name around it is then grown in both directions.
_STEM = re.compile(r"pass|pwd|secret|token|key|auth|cred|bearer|jwt|contrase")
_NAME_TAIL = re.compile(r"[\w.\-]{0,60}")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_PREFIX = r"(?:(?:[Bb]earer|[Bb]asic|[Tt]oken|Bot)\s+)?"  # Authorization: Bearer <value>
_QUOTED = r"\\?(?P<q>[\"'`])" + _PREFIX + r"(?P<value>[^\s\"'`]{6,1024}?)\\?(?P=q)"  # also \"escaped\" quotes
_BARE = (
    _PREFIX
    + r"(?P<bare>[A-Za-z0-9+/=_\-.~!@#%^*$][A-Za-z0-9+/=_\-.~!@#%^*()$]{5,1023}?)(?=[\s,;&\]}<>'\"`\\]|\)?[\s,;]|\)?\Z|\Z)"
)
_TYPE = (  # name: T = / name T =
    r"(?:[ \t]*:[ \t]*[A-Za-z_][\w.<>\[\]?]*(?=[ \t]*=)|[ \t]+[A-Za-z_][\w.<>\[\]*]*(?=[ \t]*=))?"
)
_OP = r"[ \t]*(?::::=|::=|:=|\?\?=|\?=|\.=|\+=|=>|=(?!=)|:(?![:/]))[ \t]*"
# What follows a key-like name: an assignment / mapping, or (a quoted name) a call's next argument. A quoted
# value may start on the next line (``key =\n    "..."``); an unquoted one may not (``key:\n  nested: 1``).
_NAME_END = r"\\?[\"'`]?\]?"  # a quoted name (JSON, dicts), an escaped one (\"key\"), os.environ["KEY"]
_AFTER_NAME = re.compile(
    _NAME_END
    + _TYPE
    + _OP
    + r"(?:\r?\n[ \t]*)?"
    + _QUOTED
    + r"|"
    + _NAME_END
    + _TYPE
    + _OP
    + r"(?:[|>][-+]?[ \t]*\r?\n[ \t]+)?"
    + _BARE  # YAML block scalars: key: |
)
_AFTER_QUOTED_NAME = re.compile(
    r"[\"']\s*,\s*" + _QUOTED
)  # setdefault("API_KEY", "..."), put("password", ...)
_AFTER_FLAG = re.compile(r"(?:=|[ \t]+)" + _BARE)  # --token VALUE, --password=VALUE
_AFTER_TAG = re.compile(
    r">\s*(?P<value>[^\s<>\"'`@][^\s<>\"'`]{5,1023})(?=[ \t]*(?:</|\r?\n|\Z))"
)  # <apiToken> VALUE </apiToken>
# A key-like name given as the *value* of a name field, with the secret in the value field beside it:
# Kubernetes / ECS environment lists (``{"name": "DB_PASSWORD", "value": "..."}``, ``- name: X`` /
# ``value: ...``), ``V1EnvVar(name="DB_PASSWORD", value="...")``, SSM's ``Name='/prod/db/password',
# Value='...'``, fabric8's ``.withName("DB_PASSWORD").withValue("...")``.
NAME_FIELD_BEFORE = re.compile(NAME_FIELD + r"[\w./\-]{0,60}$")
_NAME_FIELD_SPAN = 100  # how far before a name its name field is looked for
_AFTER_NAME_FIELD = re.compile(
    r"[\"'`]?[ \t]*(?:\)\s*\.with[Vv]alue\([ \t]*|,?\s*[\"']?(?:value|Value|VALUE|ParameterValue)[\"']?"
    r"[ \t]*[:=][ \t]*)(?:" + _QUOTED + "|" + _BARE + ")"
)
# A label in a comment with a long unquoted value: ``// high_entropy_base64: c2VjcmV0...``.
_COMMENT_LABEL = re.compile(
    r"(?://+|#+|/\*+|^[ \t]*\*|^[ \t]*;+)[ \t]*(?P<name>[A-Za-z_][\w.\-]{0,40}):[ \t]*"
    r"(?P<bare>[A-Za-z0-9+/=_\-]{20,1024})(?=[\s\"',;]|\Z)",
    re.MULTILINE,
)
# Every comment label's value is such a run after its colon: the lines without one are not searched.
_LABEL_VALUE = re.compile(r":[ \t]*[A-Za-z0-9+/=_\-]{20}")
_CALL = re.compile(r"^[\w.]+\(")


class KeyContextRecognizer(EntityRecognizer):
    """Values beside key-like names (see the module docstring); the source names the name's kind.

    Sources: ``KeyContext:<kind>`` (quoted value), ``KeyContextBare:<kind>``
    (unquoted: YAML, INI, ``.env``, flags, comments) and ``CommentLabel``
    (a long value after any other ``label:`` in a comment; the guards want it
    to be high-entropy). Names are found first (each holds a credential word)
    and the value shapes are tried right after each, so a value in a longer
    literal (``"https://...?access_token=VALUE&..."``) is found too.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[KEY_ENTITY], name="KeyContextRecognizer", supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        results: dict[tuple[int, int], str] = {}
        for start, end in _names(text):
            kind = key_name_kind(text[start:end].lstrip("$@"))
            if kind:
                for span, quoted in _values_after(text, start, end):
                    results.setdefault(span, f"KeyContext:{kind}" if quoted else f"KeyContextBare:{kind}")
        for label in comment_labels(text):
            name = label.group("name")
            if not key_name_kind(name) and not names_something_else(name):
                results.setdefault(label.span("bare"), "CommentLabel")
        return [_result(span, source, self.name, self.id) for span, source in sorted(results.items())]


def comment_labels(text: str) -> Iterator[re.Match[str]]:
    """``_COMMENT_LABEL.finditer(text)``, searched only in the lines holding a ``_LABEL_VALUE``.

    Its leading alternatives (``//``, ``#``, line-start ``*`` ...) have no literal
    for ``re`` to skip to, so it tried every position of the text; a label never
    spans a line break, and each line is searched from its start, ``^`` and the
    line break after it included, so the matches are the same.
    """
    line_end = -1
    for hit in _LABEL_VALUE.finditer(text):
        if hit.start() < line_end:
            continue
        line_start = text.rfind("\n", 0, hit.start()) + 1
        newline = text.find("\n", hit.end())
        line_end = len(text) if newline < 0 else newline + 1
        yield from _COMMENT_LABEL.finditer(text, line_start, line_end)


def _names(text: str) -> list[tuple[int, int]]:
    """Spans of the names (identifiers, dotted or dashed, ``$``/``@``-prefixed) holding a credential word."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text  # a few non-ASCII letters grow under lower(); the stems are ASCII, so search as is
    spans: list[tuple[int, int]] = []
    end = -1
    for stem in _STEM.finditer(lowered):
        if stem.start() < end:
            continue  # inside the previous name
        start = stem.start()
        while start > 0 and stem.start() - start < 60 and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start >= 1 and text[start - 1] == "\\" and text[start] in "nt":
            start += 1  # "...\nSECRET_KEY=..." inside a string literal
        while start < stem.start() and text[start] not in _NAME_START:
            start += 1
        end = _NAME_TAIL.match(text, stem.end()).end()
        if start > 0 and text[start - 1] in "$@":
            start -= 1
        spans.append((start, end))
    return spans


def _values_after(text: str, start: int, end: int) -> list[tuple[tuple[int, int], bool]]:
    """``((start, end), quoted)`` of the value a key-like name at ``text[start:end]`` is given."""
    before = text[start - 1] if start else ""
    shapes = [_AFTER_NAME]
    if NAME_FIELD_BEFORE.search(text, max(0, start - _NAME_FIELD_SPAN), start):
        shapes.insert(0, _AFTER_NAME_FIELD)
    if before in "\"'" and text[:start].rstrip("\"' \t").endswith("("):
        shapes.insert(0, _AFTER_QUOTED_NAME)
    if text[max(0, start - 2) : start].endswith(("--", " -")):
        shapes.append(_AFTER_FLAG)
    if before == "<" and (start < 2 or text[start - 2] not in _NAME_CHARS):
        shapes.append(_AFTER_TAG)  # <apiToken>, not List<SSLCredentials>
    for shape in shapes:
        match = shape.match(text, end)
        if match is None:
            continue
        if match.groupdict().get("value"):
            return [(match.span("value"), True)]
        value_start, value_end = match.span("bare")
        value = text[value_start:value_end]
        while value.endswith(")") and value.count(")") > value.count("("):
            value, value_end = value[:-1], value_end - 1  # f(password=VALUE)
        if _CALL.match(value):
            continue  # password = read_password(...)
        return [((value_start, value_end), False)]
    return []


def _result(
    span: tuple[int, int], source: str, name: str, identifier: str, score: float = 0.7
) -> RecognizerResult:
    return RecognizerResult(
        entity_type=KEY_ENTITY,
        start=span[0],
        end=span[1],
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: identifier,
            SOURCE_KEY: source,
        },
    )


# --- JWTs, PEM blocks, fixed token formats ---------------------------------------------------------
class _TokenFormats(EntityRecognizer):
    """Fixed token formats, each run only where its literal occurs (stdlib ``re``, literal first: fast).

    ``FORMATS``: ``(name, literal, pattern)``; a match must not continue a longer
    run of token characters on the left (the pattern checks the right itself).
    """

    FORMATS: tuple[tuple[str, str, str], ...] = ()
    _LEFT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~.")

    def __init__(self) -> None:
        self._formats = [(literal, re.compile(pattern)) for _, literal, pattern in self.FORMATS]
        super().__init__(supported_entities=[KEY_ENTITY], name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        results = []
        for literal, pattern in self._formats:
            if literal not in text:
                continue
            for match in pattern.finditer(text):
                start = match.start()
                if start == 0 or text[start - 1] not in self._LEFT:
                    results.append(_result(match.span(), self.name, self.name, self.id, score=1.0))
        return results


class JwtRecognizer(_TokenFormats):
    """A JWT by shape, anywhere (code, comments, URLs, headers): ``eyJ`` header, ``ey`` payload."""

    FORMATS = (("JWT", "eyJ", r"eyJ[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_\-+/=]*)?"),)


class ExtraTokenRecognizer(_TokenFormats):
    """Token formats with a fixed, documented prefix that detect-secrets 1.5 does not know."""

    FORMATS = (
        ("Google API key", "AIza", r"AIza[0-9A-Za-z_\-]{35}(?![\w-])"),
        ("GitHub token", "gh", r"gh[pousr]_[A-Za-z0-9_]{36}(?!\w)"),
        ("GitHub fine-grained token", "github_pat_", r"github_pat_[0-9A-Za-z_]{82}(?!\w)"),
        ("Hugging Face token", "hf_", r"hf_[A-Za-z]{34}(?!\w)"),
        ("Postman API key", "PMAK-", r"PMAK-[0-9a-fA-F]{24}-[0-9a-fA-F]{34}(?![\w-])"),
        ("Anthropic API key", "sk-ant-", r"sk-ant-(?:api03|admin01)-[\w\-]{93}AA(?![\w-])"),
        ("Stripe key", "k_", r"[rs]k_(?:live|test|prod)_[0-9A-Za-z]{10,99}(?!\w)"),
        ("Slack app token", "xapp-", r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+(?![\w-])"),
        ("Slack token", "xox", r"xox[abposre]-(?:\d+-)+[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?(?![\w-])"),
        ("SendGrid API key", "SG.", r"SG\.[\w\-]{20,24}\.[\w\-]{39,50}(?![\w-])"),
        ("Shopify token", "shp", r"shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}(?!\w)"),
        ("age secret key", "AGE-SECRET-KEY-1", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
        ("Heroku API key", "HRKU-AA", r"HRKU-AA[0-9A-Za-z_\-]{58}(?![\w-])"),
        ("Azure AD client secret", "Q~", r"[\w~.]{3}\dQ~[\w~.\-]{31,34}(?![\w~.-])"),
    )


_PEM = re.compile(
    r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?P<body>.{0,20000}?)"
    r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
    re.DOTALL,
)
_PEM_EDGE = r"(?:\\[nr]|[\s\"'+,])*"
_PEM_LEAD = re.compile(_PEM_EDGE)
_PEM_TRAIL = re.compile(_PEM_EDGE + r"\Z")


class PrivateKeyBlockRecognizer(EntityRecognizer):
    """The body of a private-key block: everything between the BEGIN and END armor lines."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[KEY_ENTITY], name="PrivateKeyBlockRecognizer", supported_language="en"
        )

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "PRIVATE KEY" not in text:
            return []
        results = []
        for match in _PEM.finditer(text):
            start, end = match.span("body")
            start = _PEM_LEAD.match(text, start, end).end()
            trail = _PEM_TRAIL.search(text, start, end)
            end = trail.start() if trail else end
            if end > start:
                results.append(_result((start, end), "PrivateKeyBlock", self.name, self.id, score=1.0))
        return results
