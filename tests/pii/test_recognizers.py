"""URL passwords as RFC 3986 allows them (``pii.recognizers.UrlCredentialsDetector``), through the real detector."""

from __future__ import annotations

import pytest

from pii.redact import redact


@pytest.mark.parametrize(
    ("line", "password"),
    [
        # sub-delimiters and base64 padding, which detect-secrets' basic-auth rule leaves out
        ('DATABASE_URL = "postgres://admin:Xy7+kQ2=pL9m@db.acmecorp.io:5432/app"\n', "Xy7+kQ2=pL9m"),
        ('url = "postgres://admin:Xy7kQ2pL9m==@db.acmecorp.io/app"\n', "Xy7kQ2pL9m=="),
        ("BROKER = 'amqp://guest:c2VjcmV0UGFzc3dvcmQ=@rabbit.acmecorp.io:5672/'\n", "c2VjcmV0UGFzc3dvcmQ="),
        ('MONGO = "mongodb+srv://user:Ab$cd%40ef!gh@cluster0.ab1cd.mongodb.net/test"\n', "Ab$cd%40ef!gh"),
        ('REPLICA = "mysql://report:Tq4!xR8*wZ2;pL6@replica.acmecorp.io/report"\n', "Tq4!xR8*wZ2;pL6"),
        # an empty user (Redis' AUTH-only URLs)
        ('CACHE = "redis://:p4ssw0rdXYZ@cache.acmecorp.io:6379/0"\n', "p4ssw0rdXYZ"),
        # what the library rule found before, still found
        ('DSN = "postgres://ingest:x8v1w4xq2tgf7g@db.acmecorp.io:5432/ingest"\n', "x8v1w4xq2tgf7g"),
    ],
)
def test_url_passwords_are_redacted_whole(detector, detector_without_prescan, line, password):
    findings = detector.detect(line).findings
    assert [(line[f.start : f.end], f.entity) for f in findings] == [(password, "key")]
    assert password not in redact(line, findings, "doc")[0]
    assert [(f.start, f.end) for f in detector_without_prescan.detect(line).findings] == [
        (f.start, f.end) for f in findings
    ]


@pytest.mark.parametrize(
    ("line", "guard"),
    [
        ('proxy = "socks5://<user>:<password>@proxy.internal"\n', None),
        ('dsn = f"postgresql://{user}:{password}@{host}/db"\n', None),
        ("url = `mongodb://${user}:${pass}@${host}`\n", None),
        ('url = "mysql://root:%s@%s/db" % (pw, host)\n', None),
        ('hosts = MultiHostUrl("https://foo.com:123,foo:bar@bar.com/path")\n', None),  # a host list
        ('u = "http://host:8080/path/to@thing"\n', None),
        ('DSN = "mysql://app:$DB_PASSWORD@db.internal/app"\n', "template"),
        ('broker = "redis://:changeme@localhost:6379/0"\n', "placeholder_secret"),
        ('x = "postgres://postgres:postgres@localhost/db"\n', "placeholder_secret"),
        ("// proto://:password@hostname.com:user/repo\n", "placeholder_secret"),
    ],
)
def test_url_templates_and_placeholders_stay(detector, line, guard):
    detection = detector.detect(line)
    assert detection.findings == []
    if guard:
        assert ("key", guard) in detection.guarded
