"""Held-out check of key recall: gitleaks' test-case shapes, filled with names and secrets not in our set.

gitleaks generates its own test cases from a list of templates (INI, JSON, XML, YAML, C#, Go, Java,
Kotlin, PHP, Python, URLs, comments, CSV, Makefile ...; gitleaks/gitleaks, MIT,
``cmd/generate/config/utils/generate.go``, ``GenerateSampleSecrets``, including the ones it marks TODO).
We fill them with identifiers and random secrets the labelled set does not use; nothing here was tuned on.
Shapes where nothing names the value (``VALUE is the password`` in a comment, CSV, a JSON name/value pair)
are counted apart: no name-based rule can find those.

    python -m pii.shapes [--seed 0]
"""

from __future__ import annotations

import random
import string
from collections import Counter
from typing import TYPE_CHECKING

from cli.command import CliParser, run_cli
from pii.entities import KEY
from pii.evaluate import overlaps

if TYPE_CHECKING:
    from pii.detect import PiiDetector

TEMPLATES: dict[str, str] = {
    "ini quoted": '{i}Token="{s}"', "ini quoted spaced": '{i}Token = "{s}"', "ini unquoted": "{i}Token={s}",
    "ini unquoted spaced": "{i}Token = {s}", "json": '{{\n    "{i}_token": "{s}"\n}}',
    "json escaped": '\\{{\n    \\"{i}_token\\": \\"{s}\\"\n\\}}',
    "json escaped newline": '{{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}}',
    "xml element": "<{i}Token>{s}</{i}Token>", "xml element multiline": "<{i}Token>\n    {s}\n</{i}Token>",
    "xml attribute": '<entry name="{i}Token" value="{s}" />', "yaml unquoted": "{i}_token: {s}",
    "yaml single quote": "{i}_token: '{s}'", "yaml double quote": '{i}_token: "{s}"',
    "yaml literal": "{i}_token: |\n  {s}", "yaml folding": "{i}_token: >\n  {s}",
    "c#": 'string {i}Token = "{s}";', "go": 'var {i}Token string = "{s}"', "go short": '{i}Token := "{s}"',
    "go backticks": "{i}Token := `{s}`", "java": 'String {i}Token = "{s}";',
    "java escaped quotes": 'config.put("sasl.jaas.config", "PlainLoginModule required username=\\"JDOE35\\" {i}Token=\\"{s}\\""',
    "kotlin type": 'var {i}Token: string = "{s}"', "kotlin": 'var {i}Token = "{s}"', "php concat": '${i}Token .= "{s}"',
    "php null coalesce": '${i}Token ??= "{s}"', "python single quote": "{i}Token = '{s}'",
    "python double quote": '{i}Token = "{s}"', "url basic auth": "https://{i}:{s}@example.com/",
    "url query": "https://example.com?{i}Token={s}&fooBar=baz", "comma operator": 'System.setProperty("{I}_TOKEN", "{s}")',
    "comma suffix": "environmentVariables = {{PATH=/usr/local/bin, {I}_PASSWORD={s}, LC_CTYPE=en_CA.UTF-8}},",
    "logstash": '  "{i}Token" => "{s}"', "make =": '{i}_TOKEN = "{s}"', "make :=": '{i}_TOKEN := "{s}"',
    "make ::=": '{i}_TOKEN ::= "{s}"', "make :::=": '{i}_TOKEN :::= "{s}"', "make ?=": '{i}_TOKEN ?= "{s}"',
    "make +=": '{i}_TOKEN += "{s}"',
    "comment slash": "//{s} is the password", "comment hash": "#{s} is the password", "csv": "{i}Token,{s},",
    "json name/value": '{{\n    "name": "{i}_token",\n    "value": "{s}"\n}}',
}  # fmt: skip
UNNAMED = frozenset({"comment slash", "comment hash", "csv", "json name/value"})
IDENTIFIERS = ("mailgun", "datadog", "sentry", "linear", "vault")
_ALNUM = string.ascii_letters + string.digits


def _secret(kind: str, rng: random.Random) -> str:
    if kind == "alnum32":
        return "".join(rng.choice(_ALNUM) for _ in range(31)) + rng.choice(string.digits)
    if kind == "hex40":
        return "".join(rng.choice("0123456789abcdef") for _ in range(40))
    if kind == "base64":
        return "".join(rng.choice(_ALNUM + "+/") for _ in range(42)) + "=="
    return "".join(rng.choice(_ALNUM + "-_.") for _ in range(19)) + rng.choice(string.digits)


def shape_recall(detector: PiiDetector, seed: int = 0) -> dict:
    """Found / total over every template x identifier x secret kind, split by named / unnamed shapes."""
    rng = random.Random(seed)
    found: Counter = Counter()
    total: Counter = Counter()
    missed: Counter = Counter()
    for ident in IDENTIFIERS:
        for kind in ("alnum32", "hex40", "base64", "mixed20"):
            for name, template in TEMPLATES.items():
                secret = _secret(kind, rng)
                text = template.format(i=ident, I=ident.upper(), s=secret) + "\n"
                start = text.index(secret)
                hit = any(
                    f.entity == KEY and overlaps(start, start + len(secret), f.start, f.end)
                    for f in detector.detect(text).findings
                )
                group = "unnamed" if name in UNNAMED else "named"
                total[group] += 1
                found[group] += hit
                if not hit:
                    missed[name] += 1
    return {"found": dict(found), "total": dict(total), "missed": dict(missed.most_common())}


def build_parser() -> CliParser:
    parser = CliParser(prog="python -m pii.shapes", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pii.detect import PiiDetector  # here: --help answers without the detector's imports

    result = shape_recall(PiiDetector(), args.seed)
    for group in ("named", "unnamed"):
        found, total = result["found"].get(group, 0), result["total"][group]
        print(f"{group:<8} {found}/{total} = {found / total:.3f}")
    print("missed per shape:", result["missed"])
    return 0


if __name__ == "__main__":
    run_cli(main, "pii.shapes")
