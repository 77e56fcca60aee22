"""Key-name rules, the pre-scan and the plugin gates: what they find, and that speed never changes results."""

from __future__ import annotations

import subprocess
import sys

import pytest
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.keyword import DENYLIST

from pii import prescan
from pii.detect import _join
from pii.evaluate import DEFAULT_LABELLED, load_labelled
from pii.key_names import key_name_kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("api_key", "secret"), ("apiKey", "secret"), ("x-api-key", "secret"), ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("STRIPE_KEY", "secret"), ("Authorization", "secret"), ("bot_token1", "secret"), ("$apiToken", "secret"),
        ("EMAIL_HOST_PASSWORD", "password"), ("passwd", "password"), ("db_pass", "password"),
        ("key", None), ("token_type", None), ("csrf_token", None), ("password_hash", None), ("public_key", None),
        ("cache_key", None), ("access_token_url", None), ("author", None), ("pad_token", None),
        ("LLM_SECRET_NAME", None), ("UserSecretsId", None), ("api_key_id", None), ("high_entropy_base64", None),
    ],
)  # fmt: skip
def test_key_name_kind(name, kind):
    assert key_name_kind(name) == kind


def _fixture_texts() -> list[str]:
    docs, negatives = load_labelled(DEFAULT_LABELLED)
    return [doc.content for doc in docs] + ["\n".join(line for _, line in negatives)]


def test_prescan_changes_speed_not_results(detector, detector_without_prescan):
    extra = [
        'SERVER = "8.8.8.8"\nkey = "AKIA4QW7ZP2LMX9RT3BN"\n',
        "nothing here\n",
        "a\n" + "b" * 5000 + "\n",
    ]
    for text in _fixture_texts() + extra:
        with_prescan = [(f.start, f.end, f.entity) for f in detector.detect(text).findings]
        without = [(f.start, f.end, f.entity) for f in detector_without_prescan.detect(text).findings]
        assert with_prescan == without


def test_prescan_windows_hold_every_anchor_and_only_candidate_lines():
    assert prescan.families("def f(x):\n    return x + 1\n") == set()
    assert prescan.families("mail bob@corp.io") == {"email"}
    assert prescan.families("host 52.14.88.201") == {"ip_address"}
    text = "x = 1\napi_key = (\n    'abc'\n)\ny = 2\n" + "b" * 5000 + ' token="q"' + "c" * 3000 + "\n"
    pieces = prescan.windows(text, "key")
    assert pieces[0] == (6, "api_key = (\n    'abc'\n")  # the continuation line comes along
    for offset, piece in pieces:
        assert text[offset : offset + len(piece)] == piece and len(piece) <= 2 * prescan.LONG_LINE
    assert all(any(o <= p < o + len(s) for o, s in pieces) for p in prescan.anchors(text, "key"))
    joined, starts, offsets = _join(pieces)
    assert [joined[s : s + len(p)] for s, (_, p) in zip(starts, pieces, strict=True)] == [
        p for _, p in pieces
    ]


def test_segments_cover_everything():
    text = "a\n" + "b" * 5000 + "\nc\n"
    covered = set()
    for offset, piece in prescan.segments(text):
        assert text[offset : offset + len(piece)] == piece and len(piece) <= prescan.LONG_LINE
        covered.update(range(offset, offset + len(piece)))
    assert covered == set(range(len(text)))


def test_plugin_gates_change_speed_not_results(detector):
    from pii.plugin_gates import KEYWORD_LITERALS
    from pii.recognizers import DetectSecretsRecognizer

    assert all(any(word in entry for word in KEYWORD_LITERALS) for entry in DENYLIST)
    recognizer = DetectSecretsRecognizer()
    plugins = [plugin for plugin, _ in recognizer._plugins]
    for text in _fixture_texts():
        gated = [(r.start, r.end) for r in recognizer.analyze(text, ["KEY"])]
        ungated, offset = [], 0
        for line in text.splitlines(keepends=True):
            ungated += [(r.start, r.end) for r in recognizer._analyze_line(line, offset, plugins)]
            offset += len(line)
        assert gated == ungated


def test_entropy_is_detect_secrets_own_to_the_bit():
    import random
    import string

    from pii.recognizers import detect_secrets_plugins

    ours = {type(p).__mro__[1]: p for p in detect_secrets_plugins() if "Entropy" in type(p).__name__}
    rng = random.Random(5)
    for _ in range(3000):
        n = rng.randint(1, 64)
        value = "".join(rng.choice(string.ascii_letters + string.digits + "+/=") for _ in range(n))
        digits = "".join(rng.choice(string.digits) for _ in range(n))
        hexes = "".join(rng.choice("0123456789abcdef") for _ in range(n))
        assert ours[Base64HighEntropyString].calculate_shannon_entropy(value) == Base64HighEntropyString(
            4.5
        ).calculate_shannon_entropy(value)
        for v in (digits, hexes):
            assert ours[HexHighEntropyString].calculate_shannon_entropy(v) == HexHighEntropyString(
                3.0
            ).calculate_shannon_entropy(v)


def test_presidio_is_imported_without_the_nlp_stacks():
    code = (
        "import sys; from pii.detect import shared_engine; shared_engine(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('env:\n  - name: DB_PASSWORD\n    value: "Xy7kQ2pL9mZz3"\n', "Xy7kQ2pL9mZz3"),
        ("env:\n  - name: DB_PASSWORD\n    value: Xy7kQ2pL9mZz3\n", "Xy7kQ2pL9mZz3"),
        ('[\n  {\n    "name": "API_TOKEN",\n    "value": "a8Kd92LmQp0Z"\n  }\n]\n', "a8Kd92LmQp0Z"),
        ("env = [client.V1EnvVar(name='DB_PASSWORD', value='Xy7kQ2pL9mZz3')]\n", "Xy7kQ2pL9mZz3"),
        ("V1EnvVar(\n    name='DB_PASSWORD',\n    value='Xy7kQ2pL9mZz3',\n)\n", "Xy7kQ2pL9mZz3"),
        (
            "ssm.put_parameter(Name='/prod/db/password', Value='Xy7kQ2pL9mZz3', Type='SecureString')\n",
            "Xy7kQ2pL9mZz3",
        ),
        (
            'new EnvVarBuilder()\n    .withName("DB_PASSWORD")\n    .withValue("Xy7kQ2pL9mZz3")\n    .build();\n',
            "Xy7kQ2pL9mZz3",
        ),
    ],
)
def test_a_name_given_as_a_field_names_the_value_beside_it(detector, detector_without_prescan, text, value):
    findings = detector.detect(text).findings
    assert [(text[f.start : f.end], f.entity) for f in findings] == [(value, "key")]
    assert [(f.start, f.end) for f in detector_without_prescan.detect(text).findings] == [
        (f.start, f.end) for f in findings
    ]  # the pre-scan brings the value's line along with the name's


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}\n',
        "V1EnvVar(name='DB_PASSWORD', value_from=secret_ref)\n",
        "{name: 'SECRET_KEY', value: process.env.SECRET_KEY}\n",
        '{"name": "DB_PASSWORD", "value": "${DB_PASSWORD}"}\n',
        '{"name": "MYSQL_ROOT_PASSWORD", "value": "password"}\n',
        '{"name": "version", "value": "Xy7kQ2pL9mZz3"}\n',  # the name names nothing secret
        '{"name": "API_TOKEN_URL", "value": "https://x.example.com/token"}\n',
        'option = dict(key="maxPasswordAge", value=max_password_age)\n',
    ],
)
def test_name_fields_without_a_secret_value_stay(detector, text):
    assert detector.detect(text).findings == []
