"""The faster paths of the PII core give exactly what the slower definitions they replace give."""

from __future__ import annotations

import random

import numpy as np

from pii import prescan
from pii.detect import _ALL_ENTITIES, _SCORE_THRESHOLD, _source
from pii.evaluate import DEFAULT_LABELLED, load_labelled
from pii.key_names import SOURCE_KEY
from pii.keys import _COMMENT_LABEL, comment_labels
from pii.literal_scan import build_table, byte_classes
from pii.plugin_gates import _LONG_RUN, keyword_matches, long_runs


def _texts() -> list[str]:
    docs, negatives = load_labelled(DEFAULT_LABELLED)
    return [doc.content for doc in docs] + ["\n".join(line for _, line in negatives)]


def _spans(results) -> list[tuple[int, int, str, float, str]]:
    return sorted((r.start, r.end, r.entity_type, r.score, _source(r)) for r in results)


def test_recognizers_called_directly_give_what_the_engine_gives(detector):
    crafted = (
        'mail = "jane.roe@corp-mail.de"  # ip 52.14.7.9, ::ffff:52.14.7.9, 2001:db8::1\n'
        'api_key = "AKIAQW7ZP2LMX9RT3BNA"\npassword: "hunter2hunter2"\n'
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
    )
    compared = 0
    for text in [crafted, *_texts()]:
        for entity in _ALL_ENTITIES:
            engine = detector.engine.analyze(
                text=text, language="en", entities=[entity], score_threshold=_SCORE_THRESHOLD
            )
            assert _spans(detector._analyze(text, entity)) == _spans(engine), entity
            compared += len(engine)
    assert compared > 200
    emails = _spans(detector._analyze(crafted, "EMAIL_ADDRESS"))
    assert [(s, e) for s, e, *_ in emails] == [(8, 29)]
    ips = {crafted[s:e] for s, e, *_ in _spans(detector._analyze(crafted, "IP_ADDRESS"))}
    assert ips == {"52.14.7.9", "::ffff:52.14.7.9", "2001:db8::1"}
    block = _spans(detector._analyze(crafted, "PRIVATE_KEY_BLOCK"))
    assert [crafted[s:e] for s, e, *_ in block] == ["MIIEowIBAAKCAQEA"]


def test_long_runs_are_the_regex_runs():
    text = "x = 'abcdefghijklmnopqrstuvwx' + a-b_c " + "A_b-9" * 5 + "\n" + "y" * 23 + "." + "z" * 24
    assert long_runs(text) == ["abcdefghijklmnopqrstuvwx", "A_b-9" * 5, "z" * 24]
    assert long_runs("é" + "w" * 30) == ["é" + "w" * 30]  # not ASCII: \w takes the letter too
    rng = random.Random(0)
    pieces = ["a", "-", "_", "Z9", " ", "\n", ".", "é", "a" * 23, "b" * 24, "\x00", "\x01", "\x7f"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        assert long_runs(text) == _LONG_RUN.findall(text), repr(text)
    for text in _texts():
        assert long_runs(text) == _LONG_RUN.findall(text)


def _labels(matches) -> list[tuple[tuple[int, int], ...]]:
    return [(m.span(), m.span("name"), m.span("bare")) for m in matches]


def test_comment_labels_are_the_regex_labels():
    value = "c2VjcmV0IHZhbHVlIGhlcmU="
    text = f"x = 1\n// token: {value}\n  * high_entropy: {value},\nurl: {value}\n# a: b\n;; k:\t{value}"
    found = [(m.group("name"), m.group("bare")) for m in comment_labels(text)]
    assert found == [("token", value), ("high_entropy", value), ("k", value)]
    assert _labels(comment_labels(text)) == _labels(_COMMENT_LABEL.finditer(text))
    rng = random.Random(0)
    pieces = [
        "//",
        "#",
        "/*",
        " * ",
        ";",
        "\n",
        " ",
        "\t",
        "name",
        "api_key",
        ":",
        "x" * 20,
        value,
        '"',
        ",",
        "é",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(30)))
        assert _labels(comment_labels(text)) == _labels(_COMMENT_LABEL.finditer(text)), repr(text)
    for text in _texts():
        assert _labels(comment_labels(text)) == _labels(_COMMENT_LABEL.finditer(text))


def test_byte_classes_keep_every_transition():
    table, _ = build_table(prescan.KEY_LITERALS)
    classes, columns = byte_classes(table)
    assert np.array_equal(columns[:, classes], table)
    assert columns.shape[1] < 64 and classes[ord("a")] == classes[ord("A")]


def test_keyword_matches_are_the_keyword_plugins():
    from detect_secrets.plugins.keyword import KeywordDetector

    plugin = KeywordDetector()
    lines = [
        'password = "hunter2"\n',
        'if (password == "hunter2") {\n',
        '"hunter2" !== db_pass\n',
        "secret: 'abc123'\n",
        'api_key => "abc123",\n',
        'private_key "abc123";\n',
        "my_pwd = get()  # no quotes\n",
    ]
    # one value per pattern that matches: "=" and "=>" both fit the first line
    expected = [["hunter2", "hunter2"], ["hunter2"], ["hunter2"], ["abc123"], ["abc123"], ["abc123"], []]
    assert [keyword_matches(line) for line in lines] == expected
    for line in lines:
        assert keyword_matches(line) == list(plugin.analyze_string(line)), line
    for text in _texts():
        for line in text.splitlines(keepends=True):
            assert keyword_matches(line) == list(plugin.analyze_string(line)), line
    rng = random.Random(0)
    pieces = [
        "password",
        "db_pass",
        "secret",
        "=",
        "==",
        "!",
        ":",
        ";",
        "=>",
        " ",
        '"',
        "'",
        "`",
        "abc",
        "]",
        ",",
    ]
    for _ in range(3000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randrange(16)))
        assert keyword_matches(line) == list(plugin.analyze_string(line)), repr(line)


def test_pattern_firsts_are_parts_of_their_patterns_and_change_nothing():
    import dataclasses
    import re

    from pii.plugin_gates import long_runs, plugin_gate
    from pii.recognizers import detect_secrets_plugins

    gates = [plugin_gate(plugin) for plugin in detect_secrets_plugins()]
    firsts = 0
    for gate in (gate for gate in gates if gate.firsts):
        for pattern, (first, lowered) in zip(gate.patterns, gate.firsts, strict=True):
            if first is None:
                continue
            firsts += 1
            if lowered:  # AWS: "aws" ignoring case
                assert pattern.pattern.startswith("aws") and pattern.flags & re.IGNORECASE
            else:
                assert first.pattern in pattern.pattern and first.flags == pattern.flags
    assert firsts == 3
    samples = [
        "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
        "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        "AWS_secret_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
        "awſ_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",  # the long s folds to s
        "AKIAIOSFODNN7EXAMPLE",
    ]
    rng = random.Random(0)
    pieces = [*samples, " ", "\n", ":", ".", "'", "x" * 30, "12345678", "aws", "AwS"]
    texts = samples + ["".join(rng.choice(pieces) for _ in range(rng.randrange(8))) for _ in range(500)]
    opened = 0
    for text in texts:
        lowered, runs = text.lower(), long_runs(text)
        longest = max(map(len, runs), default=0)
        for gate in gates:
            fast = gate.open(text, lowered, runs, longest)
            assert fast == dataclasses.replace(gate, firsts=()).open(text, lowered, runs, longest), text
            opened += fast
    assert opened > 500


def test_artifactory_runs_only_on_lines_holding_its_prefix():
    from itertools import accumulate

    from pii.plugin_gates import lines_of
    from pii.recognizers import DetectSecretsRecognizer

    recognizer = DetectSecretsRecognizer()
    token = "AKCp5budTFpbypBqQbGJPz3pGCi28pPivfWczqjfYb9drAmd9LbRZbj6UpKFxJXA8ksWGc9fM"
    text = "// Licensed under the APACHE License\n" * 3 + f'token = "{token}"\nx = 1\n'
    found = [(r.start, r.end, r.recognition_metadata[SOURCE_KEY]) for r in recognizer.analyze(text, ["KEY"])]
    start = text.index(token)
    assert (start, start + len(token), "ArtifactoryDetector") in found
    plugins = [plugin for plugin, _ in recognizer._plugins]
    ungated, offset = [], 0
    for line in text.splitlines(keepends=True):
        ungated += [(r.start, r.end) for r in recognizer._analyze_line(line, offset, plugins)]
        offset += len(line)
    assert sorted((s, e) for s, e, _ in found) == sorted(ungated)
    artifactory = [(p, g) for p, g in recognizer._plugins if type(p).__name__ == "ArtifactoryDetector"]
    starts = [0, *accumulate(map(len, text.splitlines(keepends=True)))]
    assert sorted(lines_of(artifactory, text, text.lower(), starts)) == [0, 1, 2, 3]  # not line 4
