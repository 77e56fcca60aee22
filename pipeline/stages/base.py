"""The one way to declare a stage: a :class:`StageSpec`.

A spec declares the stage's config model, the input columns it needs, the
score columns it writes (with their Arrow types), the resources it asks for
(an accelerator) and its kind, one of:

* a **per-document judge**: ``make_judge(config, context)`` returns a small
  picklable factory of a :class:`Judge` (``setup`` once per worker process,
  ``judge`` on a batch of documents, one :class:`Verdict` each); most are an
  :class:`EachJudge` (one document at a time, nothing to load) made by
  :func:`judge_of_config`;
* a **grouping stage** (dedup): ``verdicts(config, context)`` returns a
  transform from pieces (``pipeline.batches.Piece``) to verdict records
  (``pipeline.rejoin.verdict_record``); the framework re-reads the documents
  and applies them.

The graph (``pipeline.graph``) is built from specs only and checks them when
it is built. The framework (``pipeline.judging``, ``pipeline.rejoin``) batches,
times (``cpu_us``), counts, writes the ledger (:func:`ledger_row`,
:func:`modified_row`) and reports progress; a stage only decides.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import apache_beam as beam
from pydantic import AfterValidator, BaseModel, ConfigDict

KEPT = "kept"
REMOVED = "removed"
MODIFIED = "modified"

LEDGER_COLUMNS = ("id", "repo", "path", "lang", "size", "stage", "reason", "detail")
MODIFIED_COLUMNS = ("id", "repo", "path", "lang", "stage", "counts")


class ConfigError(ValueError):
    """A configuration problem the user must fix, with the offending key or option in the message
    (the command line prints it as one line, exit 2). Re-exported by ``pipeline.config``."""


class StageConfig(BaseModel):
    """Base of every stage's config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False


def rule_list(known: Collection[str], where: str) -> Any:
    """The type of a config field listing rule names (``skip_rules``): each must be one of ``known``;
    ``where`` tells the user where the rules are listed."""

    def check(value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown rules {unknown}; {where}")
        return value

    return Annotated[list[str], AfterValidator(check)]


@dataclass(frozen=True)
class StageContext:
    """Run-wide settings a stage may need (paths given on the command line)."""

    benchmarks_dir: str | None = None
    optout_list: str | None = None
    tokenizer: str | None = None
    temp_dir: str | None = None
    input_schema: Any = None  # the run's input schema (pyarrow), set by the graph: for re-reading units


@dataclass
class Verdict:
    """What a per-document judge says about one document.

    ``scores`` are set as columns on the document whether it is kept or not
    (so thresholds can be re-decided later); ``content`` replaces the content
    (redaction); ``modified`` holds counts for the ``modified/`` ledger.
    """

    keep: bool = True
    reason: str | None = None
    detail: dict[str, Any] | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    content: str | None = None
    modified: dict[str, int] | None = None


class Judge(Protocol):
    """A per-document core.

    ``setup`` runs once per worker process; ``judge`` is then called from every
    thread of that process at once, so it must be thread-safe (state that is
    not, such as tree-sitter parsers, goes per thread or behind a lock).
    """

    def setup(self) -> None: ...

    def judge(self, docs: Sequence[dict]) -> list[Verdict]: ...


# a spec's make_judge: (the stage's config, the run's context) -> a picklable factory of the judge
JudgeFactory = Callable[[Any, StageContext], Callable[[], Judge]]


class EachJudge:
    """Base of a judge that decides every document on its own (``judge_one``) from its stage's config
    (``self.config``; a judge built from something else writes ``__init__``) and has nothing to load
    (``setup`` does nothing): most filters. A judge that loads something or works on the whole batch at
    once (a tokenizer, a model, an automaton) writes ``setup`` and ``judge`` itself."""

    def __init__(self, config: Any):
        self.config = config

    def setup(self) -> None:
        """Nothing to load."""

    def judge_one(self, doc: dict) -> Verdict:
        raise NotImplementedError

    def judge(self, docs: Sequence[dict]) -> list[Verdict]:
        return [self.judge_one(doc) for doc in docs]


def judge_of_config(judge: Callable[[Any], Judge]) -> JudgeFactory:
    """The ``make_judge`` of a stage whose judge is built from its config alone: the factory carries the
    config (small, picklable) and each worker process builds the judge from it."""

    def make_judge(config: Any, context: StageContext) -> Callable[[], Judge]:
        return functools.partial(judge, config)

    return make_judge


def content_bytes(doc: dict) -> int:
    content = doc.get("content")
    if isinstance(content, bytes):
        return len(content)
    return len(content.encode("utf-8", "surrogatepass")) if isinstance(content, str) else 0


def _text(value: Any) -> str | None:
    """Ledger text that always encodes (undecodable input names stay readable, with U+FFFD)."""
    if value is None:
        return None
    return str(value).encode("utf-8", "replace").decode("utf-8")


def ledger_row(doc: dict, stage: str, reason: str, detail: dict[str, Any] | None = None) -> dict:
    """One row of ``removed/<stage>/``: enough to audit the decision."""
    return {
        "id": doc["id"],
        "repo": _text(doc.get("max_stars_repo_name")),
        "path": _text(doc.get("max_stars_repo_path")),
        "lang": doc.get("lang"),
        "size": content_bytes(doc),
        "stage": stage,
        "reason": reason,
        "detail": json.dumps(detail or {}, sort_keys=True),
    }


def modified_row(doc: dict, stage: str, counts: dict[str, int]) -> dict:
    """One row of ``modified/<stage>/``: counts only, never the changed values."""
    return {
        "id": doc["id"],
        "repo": _text(doc.get("max_stars_repo_name")),
        "path": _text(doc.get("max_stars_repo_path")),
        "lang": doc.get("lang"),
        "stage": stage,
        "counts": json.dumps(counts, sort_keys=True),
    }


@dataclass(frozen=True)
class Resources:
    """What a stage asks of the workers that run it. ``accelerator``: a Beam resource hint
    (``"type:nvidia-l4;count:1;install-nvidia-driver"``) that Dataflow honours."""

    accelerator: str | None = None
    # files or folders of this machine the workers must read (a local model): only runners whose
    # workers run here can, and the graph refuses the others
    local_paths: tuple[str, ...] = ()


def no_resources(config: Any) -> Resources:
    return Resources()


GroupingVerdicts = Callable[[Any, StageContext], beam.PTransform]
JUDGE = "judge"
GROUPING = "grouping"


@dataclass(frozen=True)
class StageSpec:
    """A stage as the pipeline sees it (see the module docstring); exactly one of ``make_judge`` and
    ``verdicts`` is set.

    ``needs``: input columns the stage reads and cannot do without (given by the input schema or written
    by an earlier stage). ``columns``: each score column the stage writes onto kept documents with its
    Arrow type name ("float64", "int64", "bool", "string"), so every output shard has the same schema.
    ``resources(config)``: what the stage asks of its workers. ``setup_on_node``: set-up that needs
    neither the config nor the graph (heavy imports, compiled kernels), done once per machine before the
    judges' own ``setup``: local runs do it in the workers' common parent while the graph is still being
    built (``pipeline.warm_workers``); elsewhere the judge's ``setup`` reaches it on first use.
    """

    name: str
    config: type[StageConfig]
    make_judge: JudgeFactory | None = None
    verdicts: GroupingVerdicts | None = None
    needs: tuple[str, ...] = ("id", "content")
    columns: dict[str, str] = field(default_factory=dict)
    resources: Callable[[Any], Resources] = no_resources
    setup_on_node: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        if (self.make_judge is None) == (self.verdicts is None):
            raise TypeError(
                f"stage {self.name}: set exactly one of make_judge (per document) and verdicts (grouping)"
            )

    @property
    def kind(self) -> str:
        return JUDGE if self.make_judge is not None else GROUPING
