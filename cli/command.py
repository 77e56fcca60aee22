"""What every ``python -m ...`` command of ours shares: its parser, its error handling, its sizes.

Why one module: a user should meet the same rules in every command. Options are
spelled in Beam's ``snake_case`` (``--benchmarks_dir``) and the dashed spelling
(``--benchmarks-dir``) is accepted as an alias; ``--help`` lists every option with
its default and choices; an unknown option is an error that names it and the
closest known one, never silently dropped. A user mistake (a bad option, config
key, input or path) prints one line and exits 2; Ctrl-C prints one line and
exits 130; anything else is our bug and keeps its traceback
(``STACKCURATE_TRACEBACK=1`` shows it for user mistakes too).

This module imports nothing of ours and Beam only inside the Beam helpers, so
the tokenizer and model commands use it without loading the pipeline.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

USAGE_ERROR = 2
INTERRUPTED = 130
TRACEBACK_SWITCH = "STACKCURATE_TRACEBACK"
ALIAS_NOTE = "Options are spelled with underscores as in Beam (--a_b); the dashed spelling (--a-b) works too."

# Exception types a user fixes (bad config, input, output to publish), by the module that defines them: the
# guard looks them up only in modules already imported, so it never loads the pipeline to classify an error.
USER_ERROR_TYPES = (
    ("pipeline.config", "ConfigError"),
    ("pipeline.inputs", "InputError"),
    ("release.publish", "PublishRefused"),
    ("pipeline.finish", "FinishError"),
)
# A path the user gave that is not there (or not readable) is their mistake, whatever code tripped on it.
PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
_ERROR_LABELS = {"PublishRefused": "publish refused: "}
_SIZE_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}

log = logging.getLogger("stackcurate")


# --- sizes -------------------------------------------------------------------------------------------


def parse_count(text: str | int) -> int:
    """``2000000``, ``2_000_000``, ``2M``, ``1.5k``, ``20B`` (billions; ``G`` too) -> an int (argparse type)."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d[\d_]*(?:\.\d+)?)\s*([kKmMbBgGtT]?)\s*", str(text))
    if match:
        value = float(match.group(1).replace("_", "")) * _SIZE_SUFFIXES[match.group(2).lower()]
        if value == int(value):
            return int(value)
    raise argparse.ArgumentTypeError(f"expected a count like 2000000, 2M or 20B, not {text!r}")


def format_count(n: int) -> str:
    """The shortest exact spelling of ``n`` that :func:`parse_count` reads back (``2000000`` -> ``2M``)."""
    for suffix, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


# --- parsers -----------------------------------------------------------------------------------------


class HelpFormatter(argparse.HelpFormatter):
    """Each option once (canonical spelling, no aliases) with its default; indented text is kept as written."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        shown = [o for o in action.option_strings if not o.startswith("--")]
        shown += [o for o in action.option_strings if o.startswith("--")][:1]
        if action.nargs == 0:
            return ", ".join(shown)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return ", ".join(f"{option} {metavar}" for option in shown)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = re.split(r"\n\s*\n", text.strip("\n"))
        fill = super()._fill_text
        return "\n\n".join(
            p if any(line[:1].isspace() for line in p.splitlines()) else fill(p, width, indent)
            for p in paragraphs
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and not (
                default is None or default is False or default is argparse.SUPPRESS or default in ([], "")
            )
            and "%(default)" not in text
        ):
            shown = (
                format_count(default) if action.type is parse_count and isinstance(default, int) else default
            )
            text += f" (default: {str(shown).replace('%', '%%')})"
        return text


def _canonical(option: str) -> str:
    return "--" + option[2:].replace("-", "_") if option.startswith("--") else option


class CliParser(argparse.ArgumentParser):
    """``argparse`` with our rules: snake_case options with dashed aliases, unknown options refused by name,
    one-line errors, defaults in ``--help``, no abbreviations (Beam accepts none either)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        """``--a_b`` (or ``--a-b``) registers ``--a_b`` and the alias ``--a-b``; help lists the first."""
        return _add_with_aliases(super().add_argument, self, names, kwargs)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        group = super().add_argument_group(*args, **kwargs)
        plain = group.add_argument
        group.add_argument = lambda *names, **kw: _add_with_aliases(plain, self, names, kw)  # type: ignore[method-assign]
        return group

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(describe_unknown(extras, option_names(self)))
        return namespace

    def format_help(self) -> str:
        if any("_" in o for a in self._actions for o in a.option_strings) and ALIAS_NOTE not in (
            self.epilog or ""
        ):
            self.epilog = f"{self.epilog}\n\n{ALIAS_NOTE}" if self.epilog else ALIAS_NOTE
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        """One line, no usage block: the line names the problem and where to look."""
        message = re.sub(r"(argument --\w+)(/--[\w-]+)+", r"\1", message)  # aliases out of argparse's text
        self.exit(USAGE_ERROR, f"{self.prog.removeprefix('python -m ')}: {message}; see --help\n")


def _add_with_aliases(add: Callable[..., argparse.Action], parser: argparse.ArgumentParser, names, kwargs):
    if not names or not str(names[0]).startswith("--"):
        return add(*names, **kwargs)
    ordered: list[str] = []
    for name in names:
        for spelling in (
            _canonical(name),
            "--" + name[2:].replace("_", "-") if name.startswith("--") else name,
        ):
            if spelling not in ordered and spelling not in parser._option_string_actions:
                ordered.append(spelling)
    return add(*ordered, **kwargs)


def option_names(*parsers: argparse.ArgumentParser) -> dict[str, str]:
    """Every option string of ``parsers`` -> its canonical spelling (aliases included)."""
    names: dict[str, str] = {}
    for parser in parsers:
        for action in parser._actions:
            for option in action.option_strings:
                names.setdefault(option, action.option_strings[0])
    return names


def describe_unknown(extras: Sequence[str], known: dict[str, str]) -> str:
    """``unknown option --confg (did you mean --config?)``, or the stray arguments when there is no option."""
    options = [arg.split("=", 1)[0] for arg in extras if arg.startswith("-") and arg != "--"]
    if not options:
        return f"unexpected argument{'s' if len(extras) > 1 else ''} {' '.join(extras)}"
    canonical = sorted(set(known.values()))
    described = []
    for option in dict.fromkeys(options):
        close = difflib.get_close_matches(_canonical(option), canonical, n=1, cutoff=0.6)
        described.append(f"{option} (did you mean {close[0]}?)" if close else option)
    return f"unknown option{'s' if len(described) > 1 else ''} {', '.join(described)}"


def canonical_argv(argv: Iterable[str], known: dict[str, str]) -> list[str]:
    """Rewrite aliases (``--temp-location=x``) to their canonical option (``--temp_location=x``)."""
    out: list[str] = []
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        name, sep, value = arg.partition("=")
        out.append(known.get(name, name) + sep + value if name.startswith("--") else arg)
    return out


# --- Beam pipeline options ---------------------------------------------------------------------------

# Runners whose every option is a Beam Python option, so an unknown one is a typo. Portable runners (Flink,
# Spark, Prism, a job server) also take options that only their job server knows: those pass with a warning.
STRICT_RUNNERS = frozenset(
    {"", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner", "FnApiRunner", "DataflowRunner"}
)


def asks_for_help(argv: Iterable[str], beam: bool = False) -> bool:
    """Whether ``argv`` asks for ``--help`` (``-h``), or with ``beam`` also for ``--help_beam``: a command
    that can answer before its heavy imports, and no job to prepare for."""
    flags = ("-h", "--help", "--help_beam", "--help-beam") if beam else ("-h", "--help")
    return any(arg in flags for arg in argv)


BEAM_HELP = (
    "All Apache Beam pipeline options are accepted too (--runner, --direct_num_workers, --direct_running_mode, "
    "--project, --region, --temp_location, --sdk_container_image, ...): `{prog} --help_beam` lists them."
)


def beam_parser(prog: str) -> CliParser:
    """Every option of every Beam ``PipelineOptions`` class (ours included once imported), one group each."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    class _Parser(CliParser, _BeamArgumentParser):  # Beam's parser adds add_value_provider_argument
        pass

    parser = _Parser(
        prog=prog,
        usage=f"{prog} [options] [beam options]",
        add_help=False,
        description="Apache Beam pipeline options",
    )
    seen: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
    for key in sorted(seen):
        cls = seen[key]
        group = parser.add_argument_group(cls.__name__)
        group.add_value_provider_argument = parser.add_value_provider_argument  # type: ignore[attr-defined]
        cls._add_argparse_args(group)
    return parser


class BeamHelpAction(argparse.Action):
    """``--help_beam``: print every Beam pipeline option with its help, then exit."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "list every Apache Beam pipeline option and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        print(beam_parser(parser.prog).format_help())
        parser.exit()


def parse_beam_command(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, list[str]]:
    """Our options parsed by ``parser``; every other argument must be a Beam pipeline option.

    Returns the namespace and those Beam arguments in canonical spelling. An
    argument that is neither ours nor Beam's is an error naming it, except for
    portable runners, whose job servers define options of their own (a warning).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, rest = parser.parse_known_args(argv)
    beam = beam_parser(parser.prog)
    known = option_names(parser, beam)
    beam_ns, unknown = beam.parse_known_args(canonical_argv(rest, known))
    if unknown:
        runner = str(getattr(beam_ns, "runner", None) or "").rsplit(".", 1)[-1]
        message = describe_unknown(unknown, known)
        if runner in STRICT_RUNNERS:
            parser.error(message)
        log.warning("%s: %s: not a Beam Python option, passed to %s unchecked", parser.prog, message, runner)
    return ours, canonical_argv(rest, known)


# --- the guard ---------------------------------------------------------------------------------------


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception types that mean "the user must fix something" (of modules imported so far)."""
    found: list[type[BaseException]] = list(PATH_ERRORS)
    for module, name in USER_ERROR_TYPES:
        for loaded in (sys.modules.get(module), sys.modules.get("__main__")):  # python -m runs it as __main__
            if getattr(getattr(loaded, "__spec__", None), "name", None) == module and hasattr(loaded, name):
                found.append(getattr(loaded, name))
    return tuple(found)


def _chain_has(exc: BaseException, types: type[BaseException] | tuple[type[BaseException], ...]):
    """``exc`` or the first exception of those types it was raised from (Beam re-raises worker errors wrapped)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def one_line(prog: str, exc: BaseException) -> str:
    """``prog: message`` on a single line (multi-line messages are joined, Beam's step suffix dropped)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc.code if isinstance(exc, SystemExit) else exc)
    text = re.sub(r"\s*\[while running '[^']*'\]", "", text)
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip()).replace(":; ", ": ")
    text = _ERROR_LABELS.get(type(exc).__name__, "") + text
    return text if text.startswith(f"{prog}:") else f"{prog}: {text}"


class _Interrupts:
    """SIGINT bookkeeping: the first Ctrl-C raises KeyboardInterrupt, a second one ends the process."""

    prog = ""
    count = 0

    @classmethod
    def handler(cls, signum: int, frame: Any) -> None:
        cls.count += 1
        logging.disable(logging.CRITICAL)  # winding down: no library logs the interrupt with a traceback
        if cls.count > 1:  # the first was swallowed somewhere, or clean-up hangs: stop now
            print(f"{cls.prog}: interrupted", file=sys.stderr, flush=True)
            os._exit(INTERRUPTED)
        raise KeyboardInterrupt


def guarded(main: Callable[[Sequence[str] | None], Any], prog: str, argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` and return the exit code: user mistakes -> one line + 2, Ctrl-C -> one line + 130."""
    try:
        result = main(argv)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    except SystemExit as exc:
        if not isinstance(exc.code, str):
            raise
        print(one_line(prog, exc), file=sys.stderr, flush=True)
        return USAGE_ERROR
    except Exception as exc:
        if _Interrupts.count or _chain_has(exc, KeyboardInterrupt):  # Beam re-raises it as a RuntimeError
            print(f"{prog}: interrupted", file=sys.stderr, flush=True)
            return INTERRUPTED
        user = _chain_has(exc, user_error_types())
        if user is None or os.environ.get(TRACEBACK_SWITCH, "") not in ("", "0"):
            raise
        print(one_line(prog, user), file=sys.stderr, flush=True)
        return USAGE_ERROR
    if _Interrupts.count:  # an interrupt some library caught and carried on from
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def run_cli(main: Callable[[Sequence[str] | None], Any], prog: str) -> NoReturn:
    """The ``if __name__ == "__main__":`` of every command: :func:`guarded`, then exit with its code.

    After an interrupt the process ends at once (``os._exit``): an interrupted
    Beam run leaves worker threads that would otherwise keep it alive.
    """
    _Interrupts.prog, _Interrupts.count = prog, 0
    signal.signal(signal.SIGINT, _Interrupts.handler)
    code = guarded(main, prog)
    if code == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    # The interpreter's last collection would walk every object this process made (Beam, the judges, the
    # graph): 0.6-1.1 s after a 200 MB job had printed its result. Frozen objects are skipped; what exit
    # must release is released as before (files closed, atexit run), and the memory goes with the process.
    gc.freeze()
    sys.exit(code)
