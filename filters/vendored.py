"""Vendored paths: third-party copies and build output, by GitHub linguist's ``vendor.yml`` rules.

Why: a repository that commits ``node_modules/``, a copy of jQuery or a
``dist/`` build repeats someone else's code (or its build) under its own name;
near-dedup catches exact copies but not every version of them, and the file is
not what the repository's authors wrote.

The rules are linguist's ``lib/linguist/vendor.yml`` (regexes over the path
from the repository root), keeping those that can match a Python, Java or
JavaScript file: every directory rule and the file-name rules for ``.js`` /
``.py`` files (the CSS/Obj-C/.NET-only ones cannot fire on our languages and
are left out). ``OURS`` adds three our corpus needs: ``_vendor/`` (pip and
setuptools vendor that way), committed virtualenvs (``venv/``, ``.venv/``,
``site-packages/``). A rule's name is its pattern, which the ledger names.
"""

from __future__ import annotations

import re

# linguist vendor.yml (MIT licence), in its order; patterns are matched with re.search on the path
LINGUIST = (
    # vendor conventions: caches, dependencies, distributions, C deps
    r"(^|/)cache/",
    r"^[Dd]ependencies/",
    r"(^|/)dist/",
    r"^deps/",
    r"(^|/)cpplint\.py",
    # package managers
    r"(^|/)node_modules/",
    r"(^|/)\.yarn/releases/",
    r"(^|/)\.yarn/plugins/",
    r"(^|/)\.yarn/sdks/",
    r"(^|/)\.yarn/versions/",
    r"(^|/)\.yarn/unplugged/",
    r"(^|/)bower_components/",
    r"(^|/)Godeps/_workspace/",
    r"(^|/)testdata/",
    # minified and bundled JavaScript
    r"(\.|-)min\.(js|css)$",
    r"(^|/)bootstrap([^/.]*)(\..*)?\.(js|css|less|scss|styl)$",
    r"(^|/)custom\.bootstrap([^\s]*)(js|css|less|scss|styl)$",
    r"(^|/)materialize\.(css|less|scss|styl|js)$",
    r"(^|/)select2/.*\.(css|scss|js)$",
    # vendored dependencies
    r"(3rd|[Tt]hird)[-_]?[Pp]arty/",
    r"(^|/)vendors?/",
    r"(^|/)[Ee]xtern(als?)?/",
    r"(^|/)[Vv]+endor/",
    r"^debian/",
    r"(^|/)bootstrap-datepicker/",
    # commonly bundled JavaScript frameworks
    r"(^|/)jquery([^.]*)\.js$",
    r"(^|/)jquery\-\d\.\d+(\.\d+)?\.js$",
    r"(^|/)jquery\-ui(\-\d\.\d+(\.\d+)?)?(\.\w+)?\.(js|css)$",
    r"(^|/)jquery\.(ui|effects)\.([^.]*)\.(js|css)$",
    r"(^|/)jquery\.fn\.gantt\.js",
    r"(^|/)jquery\.fancybox\.(js|css)",
    r"(^|/)fuelux\.js",
    r"(^|/)jquery\.fileupload(-\w+)?\.js$",
    r"(^|/)jquery\.dataTables\.js",
    r"(^|/)bootbox\.js",
    r"(^|/)pdf\.worker\.js",
    r"(^|/)slick\.\w+.js$",
    r"(^|/)Leaflet\.Coordinates-\d+\.\d+\.\d+\.src\.js$",
    r"(^|/)leaflet\.draw-src\.js",
    r"(^|/)Control\.FullScreen\.js",
    r"(^|/)leaflet\.spin\.js",
    r"(^|/)wicket-leaflet\.js",
    r"(^|/)\.vscode/",
    r"(^|/)prototype(.*)\.js$",
    r"(^|/)effects\.js$",
    r"(^|/)controls\.js$",
    r"(^|/)dragdrop\.js$",
    r"(^|/)mootools([^.]*)\d+\.\d+.\d+([^.]*)\.js$",
    r"(^|/)dojo\.js$",
    r"(^|/)MochiKit\.js$",
    r"(^|/)yahoo-([^.]*)\.js$",
    r"(^|/)yui([^.]*)\.js$",
    r"(^|/)ckeditor\.js$",
    r"(^|/)tiny_mce([^.]*)\.js$",
    r"(^|/)tiny_mce/(langs|plugins|themes|utils)",
    r"(^|/)ace-builds/",
    r"(^|/)MathJax/",
    r"(^|/)Chart\.js$",
    r"(^|/)[Cc]ode[Mm]irror/(\d+\.\d+/)?(lib|mode|theme|addon|keymap|demo)",
    r"(^|/)shBrush([^.]*)\.js$",
    r"(^|/)shCore\.js$",
    r"(^|/)shLegacy\.js$",
    r"(^|/)angular([^.]*)\.js$",
    r"(^|\/)d3(\.v\d+)?([^.]*)\.js$",
    r"(^|/)react(-[^.]*)?\.js$",
    r"(^|/)flow-typed/.*\.js$",
    r"(^|/)modernizr\-\d\.\d+(\.\d+)?\.js$",
    r"(^|/)modernizr\.custom\.\d+\.js$",
    r"(^|/)knockout-(\d+\.){3}(debug\.)?js$",
    # Python
    r"(^|/)docs?/_?(build|themes?|templates?|static)/",
    r"(^|/)admin_media/",
    r"(^|/)env/",
    r"(^|/)fabfile\.py$",
    # Java build wrappers
    r"(^|/)gradle/wrapper/",
    r"(^|/)\.mvn/wrapper/",
    # .NET bundles of JavaScript
    r"-vsdoc\.js$",
    r"\.intellisense\.js$",
    r"(^|/)jquery([^.]*)\.validate(\.unobtrusive)?\.js$",
    r"(^|/)jquery([^.]*)\.unobtrusive\-ajax\.js$",
    r"(^|/)[Mm]icrosoft([Mm]vc)?([Aa]jax|[Vv]alidation)(\.debug)?\.js$",
    r"(^|/)[Pp]ackages\/.+\.\d+\/",
    r"(^|/)extjs/.*?\.js$",
    r"(^|/)html5shiv\.js$",
    # test fixtures
    r"(^|/)[Tt]ests?/fixtures/",
    r"(^|/)[Ss]pecs?/fixtures/",
    r"(^|/)cordova([^.]*)\.js$",
    r"(^|/)cordova\-\d\.\d(\.\d)?\.js$",
    r"(^|/)foundation(\..*)?\.js$",
    r"(^|/)\.google_apis/",
    r"(^|/)\.github/",
    r"(^|/)\.obsidian/",
    r"(^|/)\.teamcity/",
)
OURS = (
    r"(^|/)_vendor(ed)?/",
    r"(^|/)\.?venv/",
    r"(^|/)site-packages/",
)
RULES = LINGUIST + OURS
RULE_SOURCE = {rule: "linguist" for rule in LINGUIST} | {rule: "stackcurate" for rule in OURS}


class VendoredPaths:
    """``rule(path)``: the first vendor rule the path matches, or None. Pure and thread-safe."""

    def __init__(self, skip_rules: tuple[str, ...] = ()):
        unknown = sorted(set(skip_rules) - set(RULES))
        if unknown:
            raise ValueError(
                f"unknown vendor rules {unknown}; rules are linguist's patterns (see filters/vendored.py)"
            )
        self.rules = tuple(rule for rule in RULES if rule not in skip_rules)
        self._compiled = [re.compile(rule) for rule in self.rules]
        # One pass for the common case (no rule matches), looked up rule by rule only on a hit. Python's re
        # tries every branch of an alternation at every position, so the rules that start a path segment
        # ("(^|/)...", most of them) are tried only where a segment starts: about 10x faster than one
        # alternation of all rules.
        segment, other = [], []
        for rule in self.rules:
            if rule.startswith(("(^|/)", "(^|\\/)")):
                segment.append(rule[rule.index(")") + 1 :])
            else:
                other.append(rule)
        self._prefilter = [
            re.compile(pattern)
            for pattern in (
                "(?:^|(?<=/))(?:" + "|".join(f"(?:{r})" for r in segment) + ")" if segment else None,
                "|".join(f"(?:{r})" for r in other) if other else None,
            )
            if pattern
        ]

    def rule(self, path: str | None) -> str | None:
        if not path or not any(p.search(path) for p in self._prefilter):
            return None
        return next(
            rule for rule, compiled in zip(self.rules, self._compiled, strict=True) if compiled.search(path)
        )
