"""The labelled cases planted into the sample (see :mod:`samplegen.sample`).

Every planted document is built for exactly one case from a real file that the
sample builder screened (UTF-8, passes the basic filter, no benchmark text, no
exact or near duplicate elsewhere, no PII-looking strings), so that a stage's
recall and false removals can be read off ``truth.json`` without ambiguity.
All values (emails, IPs, keys, owners) are random from the seed; none is real.
"""

from __future__ import annotations

import ipaddress
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dedup.minhash import MinHashParams, jaccard, text_shingle_keys
from filters.basic import BasicThresholds, basic_failure
from pipeline.ids import doc_id, line_stats

COMMENT = {"Python": "#", "Java": "//", "JavaScript": "//"}
WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
PUBLIC_DNS = {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222", "208.67.220.220"}
# Strings that make a planted base look like PII already (so it could not be planted cleanly).
PII_LIKE = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+|\b\d{1,3}(?:\.\d{1,3}){3}\b|[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){4,7}"
    r"|AKIA|ghp_|xox[abprs]-|sk_live_|PRIVATE KEY|api_?key|secret|password|token",
    re.IGNORECASE,
)


@dataclass
class Doc:
    """One sample row before its synthetic metadata is filled in (``stars="auto"``: from the repo)."""

    lang: str
    repo: str | None
    path: str
    content: str
    stars: int | None | str = "auto"

    @property
    def id(self) -> str:
        return doc_id(self.repo, self.path, self.content)


@dataclass
class Ctx:
    """What the case builders need from the sample builder.

    ``take(lang, min_lines, max_lines)`` returns ``(lang, path, content)`` of an
    unused screened real file (another language when ``lang`` has none);
    ``owner()`` a fresh synthetic owner; ``bench_hits(text)`` the set of
    (benchmark, task_id) whose text occurs in ``text`` (case-insensitive).
    """

    rng: random.Random
    take: Callable[[str, int, int], tuple[str, str, str]]
    owner: Callable[[], str]
    bench_hits: Callable[[str], set]
    docs: list[Doc] = field(default_factory=list)


def shingles(text: str, n: int) -> np.ndarray:
    """Distinct word n-gram keys as near-dedup hashes them (``dedup.minhash``), for exact Jaccard."""
    return text_shingle_keys(text, MinHashParams(ngram=n))


def passes_basic(content: str) -> bool:
    """Kept by the basic filter with its default thresholds (``filters.basic``)."""
    avg, longest, alnum = line_stats(content)
    return basic_failure(longest, avg, alnum, BasicThresholds()) is None


def word(rng: random.Random, syllables: int = 3) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def rand_chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def planted_repo(ctx: Ctx, path: str) -> str:
    parts = [p for p in path.split("/")[:-1] if p and not p.startswith(".")]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts[-2:]) or "code")
    return f"{ctx.owner()}/{slug}"


def insert_top_level(content: str, lang: str, block: str, rng: random.Random) -> str:
    """Insert ``block`` at a line boundary where a top-level statement may stand (end of file otherwise)."""
    lines = content.splitlines(keepends=True)
    if lang == "Python":
        spots = [i for i, ln in enumerate(lines) if ln.startswith(("def ", "class ")) and i > 0]
    elif lang == "Java":
        spots = [i + 1 for i, ln in enumerate(lines) if re.match(r"^\S.*\bclass\b.*\{\s*$", ln)]
    else:
        spots = [
            i for i, ln in enumerate(lines) if ln.startswith(("function ", "module.exports", "const ")) and i
        ]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    at = rng.choice(spots) if spots else len(lines)
    return "".join(lines[:at]) + block + "".join(lines[at:])


# ---------------------------------------------------------------- opt-out
def plant_optout(ctx: Ctx, owners: list[str], repos: list[str], n: int = 10) -> list[dict]:
    owner_keys = {o.lower() for o in owners}
    good_owners = sorted({o for o in owners if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{2,38}", o)})
    good_repos = sorted(
        r
        for r in set(repos)
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]+/[A-Za-z][A-Za-z0-9._-]+", r)
        and r.split("/")[0].lower() not in owner_keys
    )
    truth = []
    picks = [("owner", e) for e in ctx.rng.sample(good_owners, min(len(good_owners), n - n // 3))]
    picks += [("repo", e) for e in ctx.rng.sample(good_repos, min(len(good_repos), n // 3))]
    for i, (kind, entry) in enumerate(picks):
        lang, path, content = ctx.take(["Python", "Java", "JavaScript"][i % 3], 10, 300)
        repo = entry if kind == "repo" else f"{entry}/{planted_repo(ctx, path).split('/')[1]}"
        mixed = "".join(c.upper() if ctx.rng.random() < 0.5 else c.lower() for c in repo)
        if mixed == repo:
            mixed = repo.swapcase()
        doc = Doc(lang, mixed, path, content)
        ctx.docs.append(doc)
        truth.append({"id": doc.id, "entry": entry})
    return truth


# ---------------------------------------------------------------- exact duplicates
def plant_exact_dups(ctx: Ctx, groups: int = 20) -> list[list[str]]:
    truth = []
    for g in range(groups):
        lang, path, content = ctx.take(["Python", "Java", "JavaScript"][g % 3], 10, 200)
        size = 2 + g % 3
        # star patterns: distinct, tie at the top (smallest id wins), None vs 0 (both mean 0 stars)
        pattern = g % 4
        if pattern == 0:
            stars: list = ctx.rng.sample(range(0, 500), size)
        elif pattern == 1:
            top = ctx.rng.randrange(5, 300)
            stars = [top, top] + [ctx.rng.randrange(0, top) for _ in range(size - 2)]
        elif pattern == 2:
            stars = [None, 0] + [None] * (size - 2)
        else:
            stars = [None] + [ctx.rng.randrange(1, 50) for _ in range(size - 1)]
        ids = []
        prefixes = ["", "vendor/", "third_party/", "src/", "lib/copy/"]
        for k in range(size):
            doc = Doc(lang, planted_repo(ctx, path), prefixes[k] + path, content, stars[k])
            ctx.docs.append(doc)
            ids.append(doc.id)
        truth.append(ids)
    return truth


# ---------------------------------------------------------------- near duplicates
def mutate(content: str, lang: str, edits: int, seed: str) -> str:
    """Apply ``edits`` random line edits (token renames, inserted comments, deleted lines).

    The same seed gives the same edit sequence, so ``edits=k`` is a prefix of ``edits=k+1``.
    """
    rng = random.Random(seed)
    lines = content.splitlines(keepends=True)
    for _ in range(edits):
        r = rng.random()
        at = rng.randrange(len(lines))
        if r < 0.6:
            for _try in range(10):
                words = list(WORD.finditer(lines[at]))
                if words:
                    m = rng.choice(words)
                    lines[at] = lines[at][: m.start()] + word(rng) + lines[at][m.end() :]
                    break
                at = rng.randrange(len(lines))
        elif r < 0.8 or len(lines) < 20:
            indent = re.match(r"[ \t]*", lines[at]).group(0)
            text = " ".join(word(rng, 2) for _ in range(rng.randrange(3, 7)))
            lines.insert(at, f"{indent}{COMMENT[lang]} {text}\n")
        else:
            del lines[at]
    return "".join(lines)


def near_dup_copy(content: str, lang: str, target: float, seed: str) -> tuple[str, float]:
    """Binary-search the number of edits whose 5-gram Jaccard with ``content`` is closest to ``target``."""
    base = shingles(content, 5)
    lo, hi = 1, max(4, len(base) // 3)
    scores: dict[int, float] = {}

    def score(k: int) -> float:
        if k not in scores:
            scores[k] = jaccard(base, shingles(mutate(content, lang, k, seed), 5))
        return scores[k]

    while lo < hi:
        mid = (lo + hi) // 2
        if score(mid) > target:
            lo = mid + 1
        else:
            hi = mid
    best = min({lo, max(1, lo - 1)}, key=lambda k: (abs(score(k) - target), k))
    return mutate(content, lang, best, seed), score(best)


def plant_near_dups(ctx: Ctx, pairs: int = 40) -> list[dict]:
    # ~1/4 clear negatives (< 0.7), the rest above 0.7, half of all pairs at 0.85+
    bands = [(0.50, 0.65)] * (pairs // 4) + [(0.72, 0.83)] * (pairs // 4)
    bands += [(0.87, 0.98)] * (pairs - len(bands))
    truth = []
    for i, (low, high) in enumerate(bands):
        for attempt in range(8):
            lang, path, content = ctx.take(["Python", "Java", "JavaScript"][i % 3], 80, 220)
            target = ctx.rng.uniform(low, high)
            copy, j5 = near_dup_copy(content, lang, target, f"near|{i}|{attempt}|{ctx.rng.random()}")
            if copy != content and passes_basic(copy) and low - 0.02 <= j5 <= high + 0.015:
                break
        else:
            raise RuntimeError(f"could not make near-duplicate pair {i} in band {low}-{high}")
        a = Doc(lang, planted_repo(ctx, path), path, content, ctx.rng.choice([None, 0, 3, 12, 40]))
        b = Doc(lang, planted_repo(ctx, path), path, copy, ctx.rng.choice([None, 1, 7, 25]))
        ctx.docs += [a, b]
        j1 = jaccard(shingles(content, 1), shingles(copy, 1))
        truth.append({"a": a.id, "b": b.id, "jaccard5": j5, "jaccard1": j1})
    return truth


# ---------------------------------------------------------------- basic filter
def violate_basic(ctx: Ctx, lang: str, content: str, reason: str) -> str:
    c = COMMENT[lang]
    if reason == "max_line_length":
        words = " ".join(word(ctx.rng) for _ in range(200))[:1200]
        line = f"{c} {words}\n" if lang != "Python" else f'BANNER = "{words}"\n'
        return insert_top_level(content, lang, line, ctx.rng)
    if reason == "avg_line_length":
        rows = [", ".join(str(ctx.rng.randrange(10**5, 10**6)) for _ in range(25)) for _ in range(400)]
        if lang == "Python":
            block = "TABLE = [\n" + "".join(f"    [{r}],\n" for r in rows) + "]\n"
        elif lang == "Java":
            block = "class Table {\n    static final int[][] ROWS = {\n" + "".join(
                f"        {{{r}}},\n" for r in rows
            )
            block += "    };\n}\n"
        else:
            block = "const TABLE = [\n" + "".join(f"  [{r}],\n" for r in rows) + "];\n"
        return content.rstrip("\n") + "\n\n" + block
    rule = f"{c} {'=' * 76}\n{c}{' ' * 77}\n"  # alphanum_fraction: a long banner of separators
    lines = content.count("\n") + 1
    return content.rstrip("\n") + "\n\n" + rule * max(200, 3 * lines)


def plant_basic(ctx: Ctx, per_rule: int = 3) -> list[dict]:
    truth = []
    for i, reason in enumerate(["max_line_length", "avg_line_length", "alphanum_fraction"] * per_rule):
        for _attempt in range(10):  # a short base file may break a second rule: take another
            lang, path, content = ctx.take(["Python", "Java", "JavaScript"][(i // 3 + i) % 3], 40, 160)
            bad = violate_basic(ctx, lang, content, reason)
            avg, longest, alnum = line_stats(bad)
            rules = {
                "max_line_length": longest > 1000,
                "avg_line_length": avg > 100,
                "alphanum_fraction": alnum < 0.25,
            }
            if [rule for rule, broken in rules.items() if broken] == [reason]:
                break
        else:
            raise RuntimeError(f"could not plant a document breaking only {reason}")
        doc = Doc(lang, planted_repo(ctx, path), path, bad)
        ctx.docs.append(doc)
        truth.append({"id": doc.id, "reason": reason})
    return truth


# ---------------------------------------------------------------- PII
def public_ipv4(rng: random.Random) -> str:
    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast and str(ip) not in PUBLIC_DNS and 11 <= ip.packed[0] <= 223:
            return str(ip)


def public_ipv6(rng: random.Random) -> str:
    while True:
        ip = ipaddress.IPv6Address((rng.randrange(0x2400, 0x2A10) << 112) | rng.getrandbits(112))
        if ip.is_global:
            return ip.exploded if rng.random() < 0.3 else str(ip)


def pii_value(rng: random.Random, kind: str) -> tuple[str, str]:
    """(truth type, value) for one planted PII kind; random from the seed, never a real secret."""
    alnum = string.ascii_letters + string.digits
    if kind == "email":
        local = f"{word(rng, 2)}.{word(rng, 2)}{rng.randrange(100)}"
        return "email", f"{local}@{word(rng, 2)}{rng.choice(['.com', '.org', '.net', '.io', '.de'])}"
    if kind == "ipv4":
        return "ip_address", public_ipv4(rng)
    if kind == "ipv6":
        return "ip_address", public_ipv6(rng)
    if kind == "aws":
        return "key", "AKIA" + rand_chars(rng, string.ascii_uppercase + string.digits, 16)
    if kind == "github":
        return "key", "ghp_" + rand_chars(rng, alnum, 36)
    if kind == "slack":
        digits = string.digits
        return (
            "key",
            f"xoxb-{rand_chars(rng, digits, 11)}-{rand_chars(rng, digits, 13)}-{rand_chars(rng, alnum, 24)}",
        )
    if kind == "stripe":
        return "key", "sk_live_" + rand_chars(rng, alnum, 24)
    if kind == "private_key":
        b64 = alnum + "+/"
        body = "\n".join(rand_chars(rng, b64, 64) for _ in range(12)) + "\n" + rand_chars(rng, b64, 40) + "=="
        return "key", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    return "key", rand_chars(rng, alnum, 40)  # generic high-entropy api key


def pii_block(lang: str, kind: str, value: str, rng: random.Random) -> str:
    name = f"{word(rng, 2).capitalize()} {word(rng, 3).capitalize()}"
    if kind == "email":
        return f"{COMMENT[lang]} Maintainer: {name} <{value}>\n"
    if kind == "private_key":
        if lang == "Python":
            return f'DEPLOY_KEY = """{value}\n"""\n'
        if lang == "JavaScript":
            return f"const DEPLOY_KEY = `{value}\n`;\n"
        return f"/*\n{value}\n*/\n"
    var = {"ipv4": "SERVER_HOST", "ipv6": "SERVER_HOST_V6", "generic": "api_key"}.get(
        kind, f"{kind.upper()}_TOKEN"
    )
    if lang == "Python":
        return f'{var} = "{value}"\n'
    if lang == "JavaScript":
        return f'const {var} = "{value}";\n'
    return f'    private static final String {var} = "{value}";\n'


def plant_pii(ctx: Ctx) -> list[dict]:
    kinds = ["email"] * 8 + ["ipv4"] * 5 + ["ipv6"] * 4
    kinds += ["aws", "github", "slack", "stripe", "private_key", "generic"] * 2 + ["aws"]
    truth = []
    for i, kind in enumerate(kinds):
        lang, path, content = ctx.take(["Python", "Java", "JavaScript"][i % 3], 15, 250)
        kind_type, value = pii_value(ctx.rng, kind)
        planted = insert_top_level(content, lang, pii_block(lang, kind, value, ctx.rng), ctx.rng)
        doc = Doc(lang, planted_repo(ctx, path), path, planted)
        ctx.docs.append(doc)
        truth.append({"id": doc.id, "type": kind_type, "value": value})
    return truth


# ---------------------------------------------------------------- decontamination
def recase(text: str, case: str) -> str:
    return {"verbatim": text, "upper": text.upper(), "lower": text.lower()}[case]


def decontam_block(kind: str, record: dict, case: str) -> tuple[str, str]:
    """(language, code block embedding the benchmark text) for one benchmark record."""
    if kind == "humaneval_doc":
        return (
            "Python",
            f"def describe_{record['entry_point']}(values):\n{recase(record['docstring'], case)}\n    pass\n",
        )
    if kind == "humaneval_solution":
        return (
            "Python",
            f"def solve_{record['entry_point']}(*args):\n{recase(record['canonical_solution'], case)}",
        )
    if kind == "mbpp_text":
        return "Python", f"# Task: {recase(record['text'], case)}\n"
    if kind == "mbpp_code":
        return "Python", recase(record["code"], case).rstrip() + "\n"
    if kind == "apps":
        return "Python", f'PROBLEM = """\n{recase(record["question"], case)}\n"""\n'
    body = recase(record["prompt"], case)
    if record["language"] == "java":
        return "Java", body + "        throw new UnsupportedOperationException();\n    }\n}\n"
    return "JavaScript", body + "  return undefined;\n}\n"


# (kind, case) of each planted decontamination document, in planting order
DECONTAM_PLAN = [
    (kind, case)
    for kind, cases in (
        ("humaneval_doc", "verbatim upper lower"),
        ("humaneval_solution", "verbatim lower"),
        ("mbpp_text", "verbatim upper"),
        ("mbpp_code", "verbatim lower"),
        ("apps", "verbatim lower"),
        ("multipl-e-java", "verbatim upper"),
        ("multipl-e-js", "verbatim lower"),
    )
    for case in cases.split()
]


def plant_decontam(ctx: Ctx, pools: dict[str, list[dict]]) -> list[dict]:
    """``pools[kind]`` lists records with ``benchmark`` and ``task_id`` (see ``sample.load_benchmark_records``)."""
    truth, used = [], set()
    for kind, case in DECONTAM_PLAN:
        candidates = [r for r in pools.get(kind, []) if (r["benchmark"], r["task_id"]) not in used]
        for record in ctx.rng.sample(candidates, min(30, len(candidates))):
            lang, block = decontam_block(kind, record, case)
            lang, path, content = ctx.take(lang, 30, 250)
            if lang == "Java":  # a MultiPL-E prompt is a whole compilation unit: append it
                planted = content.rstrip("\n") + "\n\n" + block
            else:
                planted = insert_top_level(content, lang, block, ctx.rng)
            label = (record["benchmark"], record["task_id"])
            if passes_basic(planted) and ctx.bench_hits(planted) == {label}:
                doc = Doc(lang, planted_repo(ctx, path), path, planted)
                ctx.docs.append(doc)
                used.add(label)
                truth.append({"id": doc.id, "benchmark": label[0], "task_id": label[1], "case": case})
                break
    return truth


# ---------------------------------------------------------------- invalid rows (bad.jsonl)
def plant_invalid(ctx: Ctx) -> tuple[list[Doc], list[dict]]:
    docs, truth = [], []

    def add(doc: Doc, problem: str) -> None:
        docs.append(doc)
        truth.append({"id": doc.id, "problem": problem})

    lang, path, content = ctx.take("Python", 10, 150)
    lines = content.splitlines(keepends=True)
    lines.insert(len(lines) // 2, "# caf\udc80 au lait\n")  # a lone surrogate: not encodable as UTF-8
    add(Doc(lang, planted_repo(ctx, path), path, "".join(lines)), "undecodable")
    blob = "".join(chr(ctx.rng.choice([0, 0, 1, 2, 3, 7, 11, 14, 27, 31, 127])) for _ in range(3000))
    add(Doc("JavaScript", f"{ctx.owner()}/assets", "dist/bundle.js", blob + "var x = 1;\n" + blob), "binary")
    add(Doc("Python", f"{ctx.owner()}/emptypkg", "emptypkg/__init__.py", ""), "empty")
    lang, path, content = ctx.take("Java", 10, 150)
    add(Doc(lang, None, path, content), "null_repo")
    rows = [
        f'    ("{word(ctx.rng)}_{i:06d}", {ctx.rng.randrange(10**9)}, {ctx.rng.random():.6f}),\n'
        for i in range(24000)
    ]
    big = "# generated lookup table\nTABLE = [\n" + "".join(rows) + "]\n"
    assert len(big.encode()) > (1 << 20) and passes_basic(big)
    add(Doc("Python", f"{ctx.owner()}/tables", "tables/generated_table.py", big), "oversized")
    return docs, truth
