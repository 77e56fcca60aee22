"""Every false-positive guard, through the real detector: the trap stays, its real twin is redacted."""

from __future__ import annotations

import re

import pytest

from pii import guards, key_guards
from pii.redact import redact


def _redacted(detector, text: str, doc_id: str = "doc") -> str:
    return redact(text, detector.detect(text).findings, doc_id)[0]


def _guards(detector, text: str) -> set[str]:
    return {reason for (_, reason) in detector.detect(text).guarded}


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('__version__ = "2.7.18.1"\n', "version"),
        ('requires = "numpy==1.26.4.0"\n', "version"),
        ('OID = "1.3.6.1.2.1.1.5.0"\n', "dotted_number"),
        ("// fetch step 12.1.1.3\n", "section_number"),
        ('host = "127.0.0.1"\n', "non_public_address"),
        ('gw = "192.168.1.1"\n', "non_public_address"),
        ('net = "10.0.12.7"\n', "non_public_address"),
        ('doc = "203.0.113.42"\n', "non_public_address"),
        ('v6 = "fe80::1ff:fe23:4567:890a"\n', "non_public_address"),
        ('v6 = "2001:db8:85a3::8a2e:370:7334"\n', "non_public_address"),
        ('dns = "8.8.8.8"\n', "public_dns_server"),
        ('dns = "208.67.222.222"\n', "public_dns_server"),
        ('dns6 = "2606:4700:4700::1111"\n', "public_dns_server"),
        ('probe = ip_address("1.2.3.4")\n', "placeholder_ip"),
        ("evens = items[2::2]\n", "short_ipv6"),
        ('rev = "42.2.0.192.in-addr.arpa"\n', "dotted_number"),
    ],
)
def test_ip_guards_leave_traps_alone(detector, line, guard):
    assert _redacted(detector, line) == line
    assert guard in _guards(detector, line)


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('CONTACT = "user@example.com"\n', "reserved_domain"),
        ('to = "jane@mail.example.org"\n', "reserved_domain"),
        ('local = "admin@mailserver.local"\n', "reserved_domain"),
        ('icon = "logo@2x.js"\n', "file_name"),
        ('url = "http://user:pass@www.python.org/"\n', "url"),
        ('to = "email@email.com"\n', "placeholder_address"),
        ('who = "your.name@yourdomain.com"\n', "placeholder_domain"),
        ('who = "test@test.com"\n', "placeholder_domain"),
        ('tpl = "{username}@{domain}.com"\n', "template"),
        ("tpl = `${user}@${host}.com`;\n", "template"),
        ('remote = "git@github.com:pallets/flask.git"\n', "git_ssh_url"),
        ("msg = '<4FD05F05-F98B-44DC-8111-C6009C925F0C@gmail.com>'\n", "message_id"),
    ],
)
def test_email_guards_leave_placeholders_alone(detector, line, guard):
    assert _redacted(detector, line) == line
    match = re.search(r"[^\s\"'`<>(:/]+@[^\s\"'`<>:/;]+", line)
    value, start = match.group(0), match.start()
    assert guards.email_guard(value, line, start, start + len(value)) == guard


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"\n', "hash"),
        ('commit = "4b825dc642cb6eb9a060e54bf8d69288fbad3dd1"\n', "hash"),
        (
            "integrity = 'sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=='\n",
            "hash",
        ),
        ('vector = "a9993e364706816aba3e25717850c26c9cd0d89d"\n', "hex_without_secret_context"),
        ('SECRET_KEY = "${SECRET_KEY}"\n', "template"),
        ('user_id = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9v"\n', "id_string"),
        ('payload = "' + "aB3dE5fG7hJ9kL1mN3pQ" * 12 + '"\n', "blob"),
        ('short = "aB3dE5fG7hJ9"\n', "too_short"),
        ('key = "AKIAIOSFODNN7EXAMPLE"\n', "example_key"),
        ('ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"\n', "sequential"),
        ('name = "ThisIsAVeryLongIdentifierNameWithoutDigits"\n', "word_like"),
        ('path = "org/apache/commons/lang3/StringUtils"\n', "path"),
        (
            'HEADER = "-----BEGIN PRIVATE KEY-----\\nXXXXXXXXXXXXXXXX\\nXXXXXXXXXXXXXXXX\\n-----END PRIVATE KEY-----"\n',
            "placeholder_key_block",
        ),
    ],
)
def test_key_guards_leave_non_secrets_alone(detector, line, guard):
    assert _redacted(detector, line) == line
    value = line.split('"')[1] if '"' in line else line.split("'")[1]
    start = line.index(value)
    source = "PrivateKeyBlock" if "PRIVATE KEY" in line else "Base64HighEntropyString"
    if source == "PrivateKeyBlock":
        start = line.index("\\n")
        value = line[start : line.index("-----END")]
    assert key_guards.key_guard(value, line, start, start + len(value), source) == guard


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('password = "aaaaaaaa1"\n', "weak_value"),
        ('PASSWORD = "changeme"\n', "placeholder_secret"),
        ('API_KEY = "YOUR_API_KEY_HERE"\n', "placeholder_secret"),
        ("api_key = settings.STRIPE_API_KEY\n", "reference"),
        ('ssh_key = "/home/deploy/.ssh/id_rsa"\n', "path"),
        ('signing_key = "release-2024.pem"\n', "file_name"),
        ('social_auth = "github-oauth2"\n', "identifier"),
        ('redis_password = "cache.internal:6380"\n', "host_port"),
        ('github_token = "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"\n', "placeholder_token"),
    ],
)
def test_credential_guards_leave_non_values_alone(detector, line, guard):
    """Values beside key-like names: references, paths, words and placeholders stay."""
    assert _redacted(detector, line) == line
    assert guard in _guards(detector, line)


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('secretName = "prod-payments-stripe-2024"\n', "not_a_credential_name"),
        (
            'api_key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"\n',
            "not_a_credential_name",
        ),
        ('public_key = "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit"\n', "not_a_credential_name"),
        (
            'csrf_token = "Mj2qykJO5rELyHgezQ69nzUX0i3OH67V7+V4eUrLfpuyOuxmiW9rhROG"\n',
            "not_a_credential_name",
        ),
        ('MantleAPI_version = "9a038989604e8da62ecddbe2094b16ce1b778be1"\n', "hex_without_secret_context"),
    ],
)
def test_names_that_are_not_credentials_protect_their_values(detector, line, guard):
    assert _redacted(detector, line) == line
    assert guard in _guards(detector, line)


def test_hash_guard_yields_to_a_key_name(detector):
    """The same 40 hex digits: a digest under a hash name, a secret under a key name, whatever the comment says."""
    value = "8b1118b376c313ed420e5133ba91307817ed52c2"
    for line in (f'commit_sha = "{value}"\n', f'EXPECTED_SHA1 = "{value}"\n', f"# sha1: {value}\n"):
        assert _redacted(detector, line) == line
    for line in (
        f'WEBHOOK_SECRET = "{value}"  # as long as a sha1 digest\n',
        f'client = Client(api_key="{value}")  # hash of nothing\n',
        f'os.environ.setdefault("SIGNING_SECRET", "{value}")\n',
        f"api_secret: {value}\n",
    ):
        findings = detector.detect(line).findings
        assert [(f.entity, line[f.start : f.end]) for f in findings] == [("key", value)], line
        assert any(f.source.startswith("KeyContext") for f in findings)


def test_uuid_is_never_a_candidate(detector):
    line = 'uid = "123e4567-e89b-12d3-a456-426614174000"\n'
    assert detector.detect(line).findings == []


@pytest.mark.parametrize(
    ("line", "entity"),
    [
        ('SERVER = "52.14.88.201"\n', "ip_address"),
        ('peer = "2a03:2880:f10e:83:face:b00c:0:25de"\n', "ip_address"),
        ("# Author: Jane Smith <jane.smith@acme-corp.io>\n", "email"),
        ("# me: 12345678+octocat@users.noreply.github.com\n", "email"),
        ('api_secret = "9f8e7d6c5b4a39281706f5e4d3c2b1a0c4d2e6f8"\n', "key"),
        ('token = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b"\n', "key"),
        ('password = "Tr0ub4dor&3xq"\n', "key"),
        ('slack = WebClient(token="xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1MBS")\n', "key"),
        (
            'os.environ.setdefault("API_KEY", "PMAK-5f8e3c2a9b1d4e6f7a8b9c0d-2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f")\n',
            "key",
        ),
        ("  password: 7Lr1PEif72q2^d6\n", "key"),
        ("// jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.ovqRikAo_0kKJ0GVrAwQlezymxrLGjcEi\n", "key"),
        ("# high_entropy_base64: c2VjcmV0IG1lc3NhZ2Ugc28geW91J2xsIG5ldmVyIGd1ZXNzIG15IHBhc3N3b3Jk\n", "key"),
        ("<password>ofwAq91NQLE!T9</password>\n", "key"),
        (
            "FEED = 'https://feeds.example.net/x.csv?access_token=6jFdcsV2OKbkakIglyzixg2JHjfaecXM&f=csv'\n",
            "key",
        ),
    ],
)
def test_real_twins_of_the_traps_are_redacted(detector, line, entity):
    findings = detector.detect(line).findings
    assert [f.entity for f in findings] == [entity]
    assert _redacted(detector, line) != line


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("-----BEGIN RSA PRIVATE KEY-----\nsuper secret private key here\n-----END RSA PRIVATE KEY-----\n",
         "super secret private key here"),
        ('K = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nBKcwggSjAgEAAoIBAQDAC4AW\\n-----END PRIVATE KEY-----"\n',
         "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nBKcwggSjAgEAAoIBAQDAC4AW"),
    ],
)  # fmt: skip
def test_private_key_armor_says_what_it_is(detector, text, body):
    """Everything between BEGIN and END is the secret, base64-looking or not; the armor stays."""
    findings = detector.detect(text).findings
    assert [text[f.start : f.end] for f in findings] == [body]
    new = _redacted(detector, text)
    assert body not in new and "-----BEGIN" in new and "PRIVATE KEY-----" in new


def test_code_between_pem_constants_is_not_a_key(detector):
    text = (
        'PEM_HEADER = "-----BEGIN PRIVATE KEY-----"\n'
        "def is_pem(text):\n    return text.startswith(PEM_HEADER) and PEM_FOOTER in text\n"
        'PEM_FOOTER = "-----END PRIVATE KEY-----"\n'
    )
    assert _redacted(detector, text) == text
    assert "code_between_armor" in _guards(detector, text)
