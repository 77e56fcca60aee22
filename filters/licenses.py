"""Licence class of a file's repository: permissive, non-permissive or no licence.

Why: The Stack v2 trained on permissive and unlicensed code only, and users of
other corpora need the same cut. The class comes from ``max_stars_repo_licenses``
(the SPDX identifiers detected in the repository) and an allow list of
permissive SPDX identifiers shipped with the project (``spdx_permissive.txt``).

Rules (close to The Stack v2's ``get_license_type``, over SPDX expressions):

* no identifier (null, empty list, ``NOASSERTION``, ``NONE``) -> ``no_license``;
* identifiers that are not licences (CLAs, warranty disclaimers, generic
  exceptions: ``NOT_LICENSES``) are ignored, and when a permissive licence is
  present an "unknown licence reference" is ignored too (it points at that licence);
* each remaining entry is an SPDX expression: ``A OR B`` is permissive when one
  side is, ``A AND B`` when both are, ``A WITH exception`` when ``A`` is; a
  trailing ``+`` is dropped; identifiers compare case-insensitively;
* ``permissive`` when every remaining entry is, ``no_license`` when none remains,
  else ``non_permissive`` (a repository with MIT and GPL-3.0 files is not permissive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from importlib import resources

PERMISSIVE, NON_PERMISSIVE, NO_LICENSE = "permissive", "non_permissive", "no_license"
ALLOW_LIST_FILE = "spdx_permissive.txt"
NO_VALUE = frozenset({"", "noassertion", "none"})
UNKNOWN_REFERENCE = "licenseref-scancode-unknown-license-reference"
# scancode identifiers that amend a licence without changing its kind (The Stack v2 ignored the same ones)
NOT_LICENSES = frozenset(
    name.lower()
    for name in (
        "LicenseRef-scancode-dco-1.1",
        "LicenseRef-scancode-generic-cla",
        "LicenseRef-scancode-google-cla",
        "LicenseRef-scancode-jetty-ccla-1.1",
        "LicenseRef-scancode-newton-king-cla",
        "LicenseRef-scancode-generic-exception",
        "LicenseRef-scancode-generic-export-compliance",
        "LicenseRef-scancode-generic-tos",
        "LicenseRef-scancode-generic-trademark",
        "LicenseRef-scancode-warranty-disclaimer",
    )
)
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse_allow_list(lines: Iterable[str]) -> frozenset[str]:
    """SPDX identifiers, one per line, ``#`` comments; lower-cased."""
    ids = (line.split("#", 1)[0].strip() for line in lines)
    return frozenset(i.lower() for i in ids if i)


def default_allow_list() -> frozenset[str]:
    return parse_allow_list(
        resources.files("filters").joinpath(ALLOW_LIST_FILE).read_text("utf-8").splitlines()
    )


def license_entries(value: object) -> list[str]:
    """``max_stars_repo_licenses`` as a list of strings: a list / array, a JSON list, or one expression."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text) if v is not None]
        return [text] if text else []
    return [str(v) for v in value if v is not None]


class _Expression:
    """Recursive descent over SPDX expression tokens; each leaf is True (permissive), False or None (not a licence)."""

    def __init__(self, text: str, allow: frozenset[str]):
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.allow = allow

    def _peek(self) -> str | None:
        return self.tokens[self.pos].upper() if self.pos < len(self.tokens) else None

    def parse(self) -> bool | None:
        value = self._or()
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos]!r}")
        return value

    def _or(self) -> bool | None:
        return self._chain("OR", self._and, decisive=True)

    def _and(self) -> bool | None:
        return self._chain("AND", self._atom, decisive=False)

    def _chain(self, operator: str, operand: Callable[[], bool | None], decisive: bool) -> bool | None:
        """``operand (operator operand)*``: ``decisive`` when one operand is (True for OR, False for
        AND), None (no licence terms) when all are, else the other value."""
        values = [operand()]
        while self._peek() == operator:
            self.pos += 1
            values.append(operand())
        if decisive in values:
            return decisive
        return None if all(v is None for v in values) else not decisive

    def _atom(self) -> bool | None:
        token = self._peek()
        if token is None or token in ("AND", "OR", "WITH", ")"):
            raise ValueError("missing licence identifier")
        self.pos += 1
        if token == "(":
            value = self._or()
            if self._peek() != ")":
                raise ValueError("unclosed parenthesis")
            self.pos += 1
        else:
            value = leaf_permissive(self.tokens[self.pos - 1], self.allow)
        if self._peek() == "WITH":  # an exception only adds permissions to its licence
            if self.pos + 1 >= len(self.tokens):
                raise ValueError("WITH without an exception")
            self.pos += 2
        return value


def leaf_permissive(identifier: str, allow: frozenset[str]) -> bool | None:
    name = identifier.strip().rstrip("+").lower()
    if name in NOT_LICENSES:
        return None
    return name in allow


def license_class(value: object, allow: frozenset[str]) -> str:
    """``permissive``, ``non_permissive`` or ``no_license`` for one ``max_stars_repo_licenses`` value.

    An entry that is not a valid SPDX expression counts as non-permissive (unknown terms), never as an error."""
    entries = [e for e in license_entries(value) if e.strip().lower() not in NO_VALUE]
    verdicts = []
    for entry in entries:
        try:
            verdicts.append((entry.strip().lower(), _Expression(entry, allow).parse()))
        except ValueError:
            verdicts.append((entry.strip().lower(), False))
    if any(v is True for _, v in verdicts):
        verdicts = [(e, v) for e, v in verdicts if e != UNKNOWN_REFERENCE]
    kinds = [v for _, v in verdicts if v is not None]
    if not kinds:
        return NO_LICENSE
    return PERMISSIVE if all(kinds) else NON_PERMISSIVE
