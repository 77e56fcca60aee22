"""The validate stage's control-character share is counted per character, though it counts bytes."""

from __future__ import annotations

import random

from pipeline.stages.validate import CONTROL_CHARS, ValidateConfig, problem_of


def _doc(content: str) -> dict:
    return {"max_stars_repo_name": "r", "max_stars_repo_path": "p", "content": content}


def _by_characters(content: str) -> int:
    return sum(c in CONTROL_CHARS for c in content)


def test_control_share_counts_characters_not_bytes() -> None:
    cfg = ValidateConfig(max_control_fraction=0.1)
    # 2 control characters among 10 characters (25 UTF-8 bytes): 0.2 of the characters
    text = "é€😀ab\x01\x02cd\n"
    assert problem_of(_doc(text), cfg) == {"problem": "binary", "control_fraction": 0.2}
    assert problem_of(_doc("é€😀ab\t\x0bcd\n"), cfg) is None  # whitespace controls are text


def test_control_share_matches_the_per_character_definition() -> None:
    rnd = random.Random(7)
    alphabet = CONTROL_CHARS + "\t\n\r\f\v é€😀ab\x7f\u0085\u2028"
    cfg = ValidateConfig(max_control_fraction=0.05)
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
        if "\x00" in text or not text.strip():
            continue
        control = _by_characters(text)
        expected = None
        if control > cfg.max_control_fraction * len(text):
            expected = {"problem": "binary", "control_fraction": round(control / len(text), 4)}
        assert problem_of(_doc(text), cfg) == expected, text
