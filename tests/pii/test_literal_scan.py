"""The compiled ASCII scans find exactly what pyahocorasick and the key regexes find (the pre-scan's reference)."""

from __future__ import annotations

import random
import re

from pii import prescan
from pii.literal_scan import KeyScanner

SCANNER = prescan._KEY_SCANNER


def _reference_ends(text: str) -> list[int]:
    return prescan._literal_anchors(prescan._lower(text))


def _reference_anchors(text: str) -> list[int]:
    """The key anchors as the regex path (non-ASCII texts) finds them, URL credentials left out."""
    lowered = prescan._lower(text)
    positions = _reference_ends(text)
    positions += [m.start() for p in prescan._NAME_END for m in p.finditer(lowered)]
    positions += [m.start() for p in prescan._QUOTED_RUNS for m in p.finditer(text)]
    positions += [m.start() for m in prescan._COLON_RUN.finditer(text)]
    return sorted(positions)


def test_same_literal_ends_as_pyahocorasick_on_overlaps_and_case():
    text = "SecretKey = 'x'; my_api_key= 1; AccountKey=abc; ghp_AKIA; PRIVATE KEY; secretkeypass_ token"
    ends = SCANNER.literal_ends(text)
    assert ends == _reference_ends(text)
    assert text.index("SecretKey") + len("Secret") - 1 in ends  # "secret" and "secretkey" both end here
    assert text.index("SecretKey") + len("SecretKey") - 1 in ends
    assert SCANNER.literal_ends("") == [] and SCANNER.literal_ends("nothing to see here") == []
    crowded = "token" * 1000  # more matches than the first buffer holds
    assert SCANNER.literal_ends(crowded) == _reference_ends(crowded)
    assert len(SCANNER.literal_ends(crowded)) == 1000


def test_same_anchors_as_the_regexes_on_each_shape_and_its_edges():
    run = "Ab0+/=_-" * 3
    cases = [
        f'x = "{run[:16]}"',  # a quoted run of exactly 16
        f'x = "{run[:15]}"',  # one short
        f"x = `{run}` and '{run[:16]}",
        f"label: {run[:20]}",
        f"label:\t \t{run[:20]}",
        f"label: {run[:19]}",
        f"a:{run[:20]}:{run[:20]}",
        "API_KEY = 1; apiKey: 2; db_pass\t= 3; PASSCODE=> 4; smtpPass?= 5; key .= 6; monkey]= 7",
        'opts["key"] = 1; "passcode" ]\x1c\x0b\n = 2; key"]\n, 3; pass\'x',
        *("key", "pass", "passcode", "KEY =", "pass?", "passcode.", "Pass\n\n\n:", "passcod=", "paskey="),
    ]
    for text in cases:
        assert sorted(SCANNER.anchors(text)) == _reference_anchors(text), text
    assert SCANNER.anchors(cases[0]) and not SCANNER.anchors(cases[1])


def test_same_anchors_on_random_texts():
    rng = random.Random(0)
    pieces = [*prescan.KEY_LITERALS[:60], *"aK_ \t\n\r\x1c=\"'`:].?,>"]
    pieces += ["Pass", "TOKEN", "xyz", "Ab0+/=_-", "Ab0+/=_-Ab0+/=_-", "key", "code", "passcode"]
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 80)))
        if text.isascii():
            assert sorted(SCANNER.anchors(text)) == _reference_anchors(text), repr(text)


def test_anchors_of_ascii_texts_take_the_compiled_path():
    text = 'password = "c2VjcmV0IHZhbHVlIGhlcmU="\n'
    assert prescan.anchors(text, prescan.KEY) == _reference_anchors(text)
    assert isinstance(KeyScanner(("a",), prescan._KEY_RUN, 16, 20).literal_ends("aAa"), list)


def _reference_ip_anchors(text: str) -> list[int]:
    return sorted(m.start() for p in prescan._IP_ANCHORS for m in p.finditer(text))


def test_ip_anchors_in_the_key_pass_are_the_regexes():
    text = "v 1.2.3.4 and 1.2.3.4.5.6.7; ::1 ::: a:bc:def: 1234.1.1.1 .12345.1.1 fe80::1:2:3 ab:cd:ef:01:"
    keys, ips, _ = SCANNER.all_anchors(text)
    assert ips == _reference_ip_anchors(text)
    assert ips == [
        3,
        15,
        21,
        29,
        33,
        38,
        51,
        73,
        74,
        83,
    ]  # "::" at 73 and ":1:2:" at 74: each pattern resumes alone
    assert keys == prescan.anchors(text, prescan.KEY)
    rng = random.Random(0)
    pieces = [
        ".",
        ":",
        "::",
        "1",
        "12",
        "123",
        "1234",
        "a",
        "F",
        "g",
        "ffff",
        "fffff",
        " ",
        "\n",
        "key=",
        "'",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(40)))
        keys, ips, _ = SCANNER.all_anchors(text)
        assert ips == _reference_ip_anchors(text) and keys == prescan.anchors(text, prescan.KEY), repr(text)
    crowded = "::" * 500  # more than the first buffer holds
    assert SCANNER.all_anchors(crowded)[1] == list(range(0, 1000, 2))


def test_anchors_by_family_are_the_anchors_of_each_family():
    for text in ('k = "1.2.3.4"; mail a@b.io; token: ' + "x" * 20, "é 1.2.3.4 ::1 secret=", ""):
        assert prescan.anchors_by_family(text) == {f: prescan.anchors(text, f) for f in prescan.FAMILIES}
    assert prescan.anchors_by_family('k = "1.2.3.4"')[prescan.IP_ADDRESS] == [6]
    text = "see https://bob:s3cret@db.io/x and mail@a-b.io, @x. @.y @Override git@github.com:o/r"
    found = prescan.anchors_by_family(text)
    assert [text[i : i + 5] for i in found[prescan.EMAIL]] == ["@db.i", "@a-b.", "@x. @", "@gith"]
    assert text.index("://bob") in found[prescan.KEY]
    rng = random.Random(0)
    pieces = [
        "://",
        "a",
        ":",
        "@",
        "/",
        " ",
        "\n",
        "b:c",
        "x@y",
        ".",
        "-",
        "_",
        "key=",
        "'",
        "1.2.3.4",
        "\x1c",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(25)))
        assert prescan.anchors_by_family(text) == {f: prescan.anchors(text, f) for f in prescan.FAMILIES}, (
            repr(text)
        )


def test_non_ascii_texts_take_the_compiled_pass_where_their_characters_are_inert():
    inert = 'nom = "Ünïcødé 日本" # key: ' + "Ab0+/=_-" * 3 + "\n1.2.3.4 secret=1"
    assert prescan._ascii_stand_in(inert) is not None
    assert prescan.anchors_by_family(inert) == {f: prescan.anchors(inert, f) for f in prescan.FAMILIES}
    # Kelvin sign (lower-cases to "k"), "Ñ" (in a literal), NBSP (a blank), Arabic-Indic 3 (a digit), "İ" (grows)
    for char in ("\u212a", "Ñ", "\u00a0", "\u0663", "İ"):
        assert prescan._ascii_stand_in(f"x{char}y") is None, char
    rng = random.Random(0)
    pieces = [
        ".",
        ":",
        "1",
        "123",
        "a",
        " ",
        "\n",
        "key=",
        "key\u00a0=",
        "'",
        "token",
        "Ab0+/=_-" * 3,
        "é",
        "日本",
    ]
    pieces += [
        "\u212aey =",
        "CONTRASEÑA",
        "contraseña",
        "İ",
        "ſ",
        ".\u0663.1.2",
        "\u3000",
        "pass",
        "\x00",
        "1.2.3.4",
    ]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(20)))
        assert prescan.anchors_by_family(text) == {f: prescan.anchors(text, f) for f in prescan.FAMILIES}, (
            repr(text)
        )


def test_possessive_url_credentials_are_the_backtracking_ones():
    backtracking = re.compile(r"://[^\s/@:]*:[^\s@]+@")
    text = "https://user:pa:ss@host/x ftp://a:b c@d http://h:8080/p@v s3://k:s@b @ ://x:@ redis://:pw@h"
    assert [m.start() for m in prescan._URL_CREDENTIALS.finditer(text)] == [5, 44, 60, 83]
    rng = random.Random(0)
    pieces = ["://", "a", ":", "@", "/", " ", "\n", "b:c", "x@y"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(20)))
        assert [m.span() for m in prescan._URL_CREDENTIALS.finditer(text)] == [
            m.span() for m in backtracking.finditer(text)
        ], repr(text)


def test_private_key_armor_is_read_off_the_key_anchors():
    text = "x = 1\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"
    assert prescan.has_private_key(text, prescan.anchors_by_family(text)[prescan.KEY])
    for text in ("private key", "PRIVATE  KEY", "PRIVATE_KEY", "Private Key", ""):
        assert not prescan.has_private_key(text, prescan.anchors_by_family(text)[prescan.KEY]), text
    rng = random.Random(0)
    pieces = ["PRIVATE KEY", "PRIVATE", " KEY", "private key", "é", "\u212a", "İ", "\n", "-----", "KEY"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(8)))
        found = prescan.has_private_key(text, prescan.anchors_by_family(text)[prescan.KEY])
        assert found == ("PRIVATE KEY" in text), repr(text)
