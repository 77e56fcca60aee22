"""One Presidio detector per test session: building it imports Presidio and compiles every pattern."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def detector():
    from pii.detect import PiiDetector

    return PiiDetector()


@pytest.fixture(scope="session")
def detector_without_prescan():
    from pii.detect import PiiDetector

    return PiiDetector(use_prescan=False)
