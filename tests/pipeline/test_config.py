import pytest

from pipeline.config import ConfigError, resolve


def test_stack_base_holds_design_defaults():
    cfg = resolve("stack-base")
    assert cfg.enabled[:4] == ["validate", "optout", "exact_dedup", "basic"]
    basic = cfg.stages["basic"]
    assert (basic.max_line_length, basic.max_avg_line_length, basic.min_alphanum_fraction) == (
        1000,
        100,
        0.25,
    )
    assert "stars" not in cfg.enabled and "comments" not in cfg.enabled


def test_santacoder_adds_dedup_alt_and_comments():
    cfg = resolve("santacoder")
    assert "variant:dedup-alt" in cfg.sources and "variant:comments" in cfg.sources
    if "near_dedup" in cfg.stages:
        nd = cfg.stages["near_dedup"]
        assert (nd.ngram, nd.num_perm, nd.threshold, nd.verify) == (5, 256, 0.7, False)
    if "comments" in cfg.stages:
        assert cfg.stages["comments"].enabled


def test_variant_expression_overlays_one_filter():
    cfg = resolve("stack-base+stars")
    if "stars" in cfg.stages:
        assert cfg.stages["stars"].enabled and cfg.stages["stars"].min_stars == 5


def test_unknown_key_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  basic:\n    max_line_lenght: 5\n")
    with pytest.raises(ConfigError, match=r"stages\.basic: max_line_lenght"):
        resolve("stack-base", str(bad))


def test_bad_value_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  basic:\n    min_alphanum_fraction: 3\n")
    with pytest.raises(ConfigError, match=r"stages\.basic: min_alphanum_fraction"):
        resolve("stack-base", str(bad))


def test_unknown_stage_preset_and_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        resolve("stack-base", only_stages=["nope"])
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        resolve("nope")
    with pytest.raises(ConfigError, match="unknown variant 'nope'"):
        resolve("stack-base+nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stagez: {}\n")
    with pytest.raises(ConfigError, match="stagez"):
        resolve("stack-base", str(bad))


def test_only_stages_switches_others_off():
    cfg = resolve("stack-base", only_stages=["basic"])
    assert cfg.enabled == ["validate", "basic"]


def test_resolved_config_is_serialisable():
    data = resolve("stack-base").to_dict()
    assert data["stages"]["basic"]["max_line_length"] == 1000
    assert data["output"]["shard_target_mb"] == 256
