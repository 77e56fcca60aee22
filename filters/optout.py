"""Opt-out matching: owners and ``owner/repo`` entries, case-insensitive.

Reads The Stack's opt-out-v2 ``optouts.jsonl`` format (one request per line with
``optout_owners`` and ``optout_repos``) or a plain text list (one ``owner`` or
``owner/repo`` per line, ``#`` comments allowed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class OptOutList:
    owners: frozenset[str]
    repos: frozenset[str]

    def match(self, repo_name: str | None) -> str | None:
        """The list entry that opts this ``owner/repo`` out, or None."""
        if not repo_name:
            return None
        name = repo_name.strip().lower()
        if name in self.repos:
            return name
        owner = name.split("/", 1)[0]
        return owner if owner in self.owners else None

    def __len__(self) -> int:
        return len(self.owners) + len(self.repos)


def parse_optouts(lines: Iterable[str], source: str = "<list>") -> OptOutList:
    """Parse either format; the first non-blank line decides (JSON object -> jsonl)."""
    owners: set[str] = set()
    repos: set[str] = set()

    def add(entry: str) -> None:
        entry = entry.strip().strip("/").lower()
        if not entry:
            return
        (repos if "/" in entry else owners).add(entry)

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                request = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{source}, line {number}: not valid JSON: {exc}") from exc
            for owner in request.get("optout_owners") or []:
                add(owner)
            for repo in request.get("optout_repos") or []:
                add(repo)
        else:
            add(line)
    return OptOutList(frozenset(owners), frozenset(repos))
