"""Presets, overlays and validation of the run configuration.

A preset expression is ``NAME[+VARIANT...]``: ``stack-base+stars`` is the
``stack-base`` preset with the ``stars`` variant overlaid. A preset file may
``extends:`` another preset and list ``variants:`` of its own. A user config
(``--config my.yaml``) is overlaid last. Every stage section is validated by
that stage's pydantic model, so an unknown key or a bad value is an error
that names the file it came from and the key
(``my.yaml: stages.basic.max_line_lenght: unknown key (did you mean max_line_length?)``).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.preset_files import PRESETS_DIR, VARIANTS_DIR
from pipeline.stages import ORDER, load_spec
from pipeline.stages.base import ConfigError, StageConfig

DEFAULT_MAX_UNPARSEABLE_SHARE = 0.01


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shard_target_mb: float = Field(256.0, gt=0)
    ledger_shard_rows: int = Field(1_000_000, gt=0)
    max_unparseable_share: float = Field(
        DEFAULT_MAX_UNPARSEABLE_SHARE,
        ge=0.0,
        le=1.0,
        description="the job fails (its output is not promoted) when a stage removes more than this share "
        "of the documents it received as unparseable (docs/filters.md, Unparseable files and failures)",
    )


class _TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    extends: str | None = None
    variants: list[str] = []
    stages: dict[str, dict[str, Any]] = {}
    output: OutputConfig = OutputConfig()


@dataclass
class RunConfig:
    """The resolved configuration: validated stage configs in pipeline order."""

    preset: str
    stages: dict[str, StageConfig]
    output: OutputConfig
    description: str = ""
    sources: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> list[str]:
        return [name for name in ORDER if name in self.stages and self.stages[name].enabled]

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "description": self.description,
            "sources": self.sources,
            "stages": {name: cfg.model_dump(mode="json") for name, cfg in self.stages.items()},
            "output": self.output.model_dump(mode="json"),
        }


def deep_merge(base: dict, overlay: dict) -> dict:
    """Overlay wins; nested dicts merge key by key."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_yaml(path: Path | str, label: str | None = None) -> dict:
    """A preset or a user config: a local file, or one on any filesystem Beam knows (gs://, s3://)."""
    from pipeline import store

    label = label or str(path)
    if not store.exists(str(path)) or (not store.is_remote(path) and not Path(path).is_file()):
        raise ConfigError(f"{label}: no such file")
    try:
        data = yaml.safe_load(store.read_text(str(path))) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping at the top level")
    try:
        _TopLevel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, (), {(): label}, _TopLevel)) from exc
    return data


Origins = dict[tuple[str, ...], str]


def _record(origins: Origins, data: dict, label: str) -> None:
    """Note which file set each ``stages.<stage>.<key>`` (and ``output.<key>``), for error messages."""
    for section in ("stages", "output"):
        for name, value in (data.get(section) or {}).items():
            origins[(section, name)] = label
            if isinstance(value, dict):
                for key in value:
                    origins[(section, name, key)] = label


def _close(name: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _describe(
    exc: ValidationError, prefix: tuple[str, ...], origins: Origins, model: type[BaseModel] | None = None
) -> str:
    """``file: stages.basic.max_line_lenght: unknown key (did you mean max_line_length?)``, one per error."""
    parts = []
    for err in exc.errors():
        loc = prefix + tuple(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            fields = list(model.model_fields) if model is not None and len(err["loc"]) == 1 else []
            message = "unknown key" + _close(loc[-1], fields)
        elif err["type"] == "value_error":
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            message = f"{err['msg']} (got {err['input']!r})" if "input" in err else err["msg"]
        origin = next((origins[loc[:n]] for n in range(min(len(loc), 3), -1, -1) if loc[:n] in origins), None)
        key = ".".join(loc)
        parts.append(": ".join(p for p in (origin, key, message) if p))
    return "; ".join(parts)


def _preset_file(name: str, directory: Path, kind: str) -> Path:
    path = directory / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in directory.glob("*.yaml"))
        raise ConfigError(f"unknown {kind} {name!r}{_close(name, known)}; known: {', '.join(known)}")
    return path


def _label(path: Path) -> str:
    return str(path.relative_to(PRESETS_DIR.parent.parent))


def _load_preset(name: str, sources: list[str], origins: Origins, seen: tuple[str, ...] = ()) -> dict:
    if name in seen:
        raise ConfigError(f"preset {name!r} extends itself through {' -> '.join(seen)}")
    path = _preset_file(name, PRESETS_DIR, "preset")
    data = _read_yaml(path, _label(path))
    base = _load_preset(data["extends"], sources, origins, (*seen, name)) if data.get("extends") else {}
    sources.append(f"preset:{name}")
    _record(origins, data, _label(path))
    merged = deep_merge(base, {k: v for k, v in data.items() if k not in ("extends", "variants")})
    for variant in data.get("variants", []):
        merged = _apply_variant(merged, variant, sources, origins)
    return merged


def _apply_variant(config: dict, variant: str, sources: list[str], origins: Origins) -> dict:
    path = _preset_file(variant, VARIANTS_DIR, "variant")
    data = _read_yaml(path, _label(path))
    sources.append(f"variant:{variant}")
    _record(origins, data, _label(path))
    data.pop("description", None)
    return deep_merge(config, data)


def resolve(
    preset: str = "stack-base",
    config_path: str | None = None,
    overrides: dict[str, Any] | None = None,
    only_stages: list[str] | None = None,
) -> RunConfig:
    """Resolve a preset expression + user file + overrides into a validated ``RunConfig``.

    ``only_stages`` (``--stages``) switches on exactly these stages (plus
    ``validate``, which guards every run) and switches the others off.
    """
    name, *variants = [part.strip() for part in preset.split("+")]
    sources: list[str] = []
    origins: Origins = {}
    data = _load_preset(name, sources, origins)
    description = data.get("description", "")
    for variant in variants:
        data = _apply_variant(data, variant, sources, origins)
    if config_path:
        overlay = _read_yaml(str(config_path), str(config_path))
        _record(origins, overlay, str(config_path))
        data = deep_merge(data, overlay)
        sources.append(f"file:{config_path}")
    if overrides:
        _record(origins, overrides, "overrides")
        data = deep_merge(data, overrides)
    stages_raw: dict[str, dict] = data.get("stages", {})
    for stage in stages_raw:
        if stage not in ORDER:
            origin = origins.get(("stages", stage))
            where = f"{origin}: " if origin else ""
            raise ConfigError(
                f"{where}stages.{stage}: unknown stage{_close(stage, list(ORDER))}; known stages: {', '.join(ORDER)}"
            )
    if only_stages is not None:
        for stage in only_stages:
            if stage not in ORDER:
                raise ConfigError(
                    f"--stages: unknown stage {stage!r}{_close(stage, list(ORDER))}; known stages: {', '.join(ORDER)}"
                )
        wanted = set(only_stages) | {"validate"}
        stages_raw = {s: {**stages_raw.get(s, {}), "enabled": s in wanted} for s in set(stages_raw) | wanted}
    stages: dict[str, StageConfig] = {}
    for stage in ORDER:
        if stage not in stages_raw:
            continue
        section = stages_raw[stage] or {}
        spec = load_spec(stage)  # every stage in ORDER has its module: a missing one is a bug, never skipped
        try:
            stages[stage] = spec.config.model_validate(section)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, ("stages", stage), origins, spec.config)) from exc
    try:
        output = OutputConfig.model_validate(data.get("output", {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, ("output",), origins, OutputConfig)) from exc
    return RunConfig(preset=preset, stages=stages, output=output, description=description, sources=sources)
