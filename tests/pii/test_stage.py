"""The ``pii`` stage in Beam (FnApiRunner): counts, the score column, and no secret anywhere in the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pii.evaluate import DEFAULT_LABELLED
from pipeline.stages import load_spec
from tests.stage_runner import run_stages


def _labelled_docs() -> tuple[list[dict], set[str]]:
    spec = json.loads((DEFAULT_LABELLED / "labels.json").read_text())
    docs, secrets = [], set()
    for rel in list(spec["positives"]) + spec["hard_negatives"]:
        content = (DEFAULT_LABELLED / rel).read_text(encoding="utf-8")
        lang = {"py": "python", "java": "java", "js": "javascript"}.get(rel.rsplit(".", 1)[-1], "other")
        docs.append(
            {
                "id": f"{len(docs):020x}",
                "content": content,
                "lang": lang,
                "max_stars_repo_name": "acme/labelled",
                "max_stars_repo_path": rel,
            }
        )
    for labels in spec["positives"].values():
        secrets.update(label["value"] for label in labels)
    return docs, secrets


@pytest.mark.parametrize("replacements", ["stackcurate", "bigcode"])
def test_stage_redacts_counts_and_leaks_nothing(tmp_path: Path, replacements: str):
    spec = load_spec("pii")
    assert spec.columns == {"pii_redacted": "bool"}
    cfg = spec.config(enabled=True, replacements=replacements)
    docs, secrets = _labelled_docs()
    out = run_stages({"pii": (spec, cfg)}, docs, tmp_path / "input")["pii"]
    for part, rows in out.items():  # as JSON lines, as a user reads them: no secret may survive in any field
        text = "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)
        (tmp_path / "out").mkdir(exist_ok=True)
        (tmp_path / "out" / f"{part}.jsonl").write_text(text, encoding="utf-8")
    kept, removed, modified = (
        [
            json.loads(line)
            for line in (tmp_path / "out" / f"{part}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for part in ("kept", "removed", "modified")
    )
    assert len(kept) == len(docs) == 23 and removed == []
    redacted = {d["max_stars_repo_path"] for d in kept if d["pii_redacted"]}
    assert redacted == {p for p in (d["max_stars_repo_path"] for d in docs) if p.startswith("positives/")}
    assert len(modified) == 16 and {m["path"] for m in modified} == redacted
    counts = {m["path"]: json.loads(m["counts"]) for m in modified}
    assert counts["positives/peers.py"] == {"email": 8, "ip_address": 9, "key": 0}
    assert counts["positives/Uebersetzer.java"] == {"email": 2, "ip_address": 2, "key": 1}
    assert counts["positives/integrations.py"] == {"email": 0, "ip_address": 0, "key": 37}
    for d in kept:
        if not d["pii_redacted"]:
            original = next(x for x in docs if x["id"] == d["id"])
            assert d["content"] == original["content"]  # hard negatives come out byte for byte
    everything = "".join(f.read_text(encoding="utf-8") for f in (tmp_path / "out").iterdir())
    leaked = [s[:6] for s in secrets if s in everything]
    assert leaked == []


def test_config_rejects_unknown_entities_and_modes():
    import pydantic

    spec = load_spec("pii")
    cfg = spec.config(enabled=True)
    assert cfg.entities == ["email", "ip_address", "key"] and cfg.replacements == "stackcurate"
    with pytest.raises(pydantic.ValidationError):
        spec.config(entities=["phone"])
    with pytest.raises(pydantic.ValidationError):
        spec.config(replacements="presidio")
