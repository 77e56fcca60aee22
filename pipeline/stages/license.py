"""Stage ``license``: keep files whose repository's licence class is one of ``keep`` (``filters.licenses``).

``license_class`` (``permissive``, ``non_permissive`` or ``no_license``) is
written on every kept document; a removed file's ledger row has its class as
the ``reason`` and the licences, the class and ``keep`` in ``detail``. The allow
list is read when the graph is built (the shipped ``filters/spdx_permissive.txt``,
or ``allow_list``: a local, ``gs://``, ``s3://`` or ``hf://`` path) and shipped with the stage.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Literal

from pydantic import Field

from filters.licenses import (
    NO_LICENSE,
    PERMISSIVE,
    default_allow_list,
    license_class,
    license_entries,
    parse_allow_list,
)
from pipeline.inputs import open_binary
from pipeline.stages.base import EachJudge, StageConfig, StageContext, StageSpec, Verdict

NAME = "license"
LicenseClass = Literal["permissive", "non_permissive", "no_license"]


class LicenseConfig(StageConfig):
    keep: list[LicenseClass] = Field(
        default_factory=lambda: [PERMISSIVE, NO_LICENSE],
        description="licence classes kept (The Stack v2: permissive and no licence)",
    )
    allow_list: str | None = Field(
        None, description="SPDX ids counted as permissive (default: the shipped list)"
    )


def load_allow_list(path: str | None) -> frozenset[str]:
    if path is None:
        return default_allow_list()
    with open_binary(path) as handle:
        ids = parse_allow_list(io.TextIOWrapper(handle, encoding="utf-8"))
    if not ids:
        raise ValueError(f"stages.{NAME}.allow_list: {path} holds no SPDX identifier")
    return ids


class LicenseJudge(EachJudge):
    def __init__(self, allow: frozenset[str], keep: tuple[str, ...]):
        self.allow = allow
        self.keep = keep

    def judge_one(self, doc: dict) -> Verdict:
        value = doc.get("max_stars_repo_licenses")
        kind = license_class(value, self.allow)
        if kind in self.keep:
            return Verdict(scores={"license_class": kind})
        detail = {"licenses": license_entries(value), "license_class": kind, "keep": list(self.keep)}
        return Verdict(keep=False, reason=kind, detail=detail, scores={"license_class": kind})


def make_judge(config: LicenseConfig, ctx: StageContext) -> Callable[[], LicenseJudge]:
    return functools.partial(LicenseJudge, load_allow_list(config.allow_list), tuple(config.keep))


SPEC = StageSpec(
    name=NAME, config=LicenseConfig, make_judge=make_judge, needs=("id",), columns={"license_class": "string"}
)
