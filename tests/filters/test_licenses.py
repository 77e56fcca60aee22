"""Licence class from max_stars_repo_licenses: the shipped SPDX allow list and the classification rules."""

from __future__ import annotations

import numpy as np
import pytest

from filters.licenses import (
    NO_LICENSE,
    NON_PERMISSIVE,
    PERMISSIVE,
    default_allow_list,
    license_class,
    license_entries,
    parse_allow_list,
)

ALLOW = default_allow_list()


def test_shipped_allow_list() -> None:
    assert {
        "mit",
        "apache-2.0",
        "bsd-3-clause",
        "bsd-2-clause",
        "isc",
        "unlicense",
        "cc0-1.0",
        "0bsd",
    } <= ALLOW
    assert not {"gpl-3.0", "lgpl-2.1", "agpl-3.0", "mpl-2.0", "epl-2.0", "cc-by-sa-4.0", "json"} & ALLOW
    assert len(ALLOW) > 100


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, NO_LICENSE),
        ([], NO_LICENSE),
        (["NOASSERTION"], NO_LICENSE),
        (["MIT"], PERMISSIVE),
        (["mit"], PERMISSIVE),  # SPDX ids compare case-insensitively
        (["MIT", "Apache-2.0"], PERMISSIVE),
        (["GPL-3.0"], NON_PERMISSIVE),
        (["MIT", "GPL-3.0"], NON_PERMISSIVE),  # a repository with a GPL part is not permissive
        (["GPL-2.0+"], NON_PERMISSIVE),
        (["(MIT OR GPL-3.0)"], PERMISSIVE),  # the user may take MIT
        (["MIT AND GPL-3.0"], NON_PERMISSIVE),
        (["Apache-2.0 WITH LLVM-exception"], PERMISSIVE),
        (["GPL-2.0-only WITH Classpath-exception-2.0"], NON_PERMISSIVE),
        (["LicenseRef-scancode-generic-cla"], NO_LICENSE),  # not a licence
        (["MIT", "LicenseRef-scancode-generic-cla"], PERMISSIVE),
        (["MIT", "LicenseRef-scancode-unknown-license-reference"], PERMISSIVE),  # points at the MIT licence
        (["LicenseRef-scancode-unknown-license-reference"], NON_PERMISSIVE),  # unknown terms
        (["MIT AND"], NON_PERMISSIVE),  # not an expression: unknown terms, not an error
        ("MIT", PERMISSIVE),
        ('["BSD-3-Clause", "ISC"]', PERMISSIVE),
        (np.array(["Apache-2.0"], dtype=object), PERMISSIVE),  # a list column read through pandas
    ],
)
def test_license_class(value, expected: str) -> None:
    assert license_class(value, ALLOW) == expected


def test_entries_and_custom_allow_list() -> None:
    assert license_entries('["MIT", null]') == ["MIT"]
    assert license_entries(("MIT", None, "ISC")) == ["MIT", "ISC"]
    mine = parse_allow_list(["# only these\n", "MIT  # the usual\n", "\n", "Apache-2.0\n"])
    assert mine == frozenset({"mit", "apache-2.0"})
    assert license_class(["ISC"], mine) == NON_PERMISSIVE
