import sys

import pytest

from pipeline import config
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
    # stack-v1 near-dedup first, then dedup-alt as a second pass on its output (the paper's "more near-dedup")
    nd, alt = cfg.stages["near_dedup"], cfg.stages["near_dedup_alt"]
    assert (nd.enabled, nd.ngram, nd.threshold, nd.verify) == (True, 1, 0.85, True)
    assert (alt.enabled, alt.ngram, alt.num_perm, alt.threshold, alt.verify) == (True, 5, 256, 0.7, False)
    assert cfg.enabled.index("near_dedup_alt") == cfg.enabled.index("near_dedup") + 1
    assert cfg.stages["comments"].enabled


def test_variant_expression_overlays_one_filter():
    cfg = resolve("stack-base+stars")
    if "stars" in cfg.stages:
        assert cfg.stages["stars"].enabled and cfg.stages["stars"].min_stars == 5


def test_unknown_key_is_named_with_its_file_and_the_close_key(tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("stages:\n  basic:\n    max_line_lenght: 5\n")
    with pytest.raises(ConfigError) as err:
        resolve("stack-base", str(bad))
    assert (
        str(err.value) == f"{bad}: stages.basic.max_line_lenght: unknown key (did you mean max_line_length?)"
    )


def test_bad_value_and_wrong_type_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  basic:\n    min_alphanum_fraction: 3\n")
    with pytest.raises(ConfigError, match=rf"^{bad}: stages\.basic\.min_alphanum_fraction: .* \(got 3\)$"):
        resolve("stack-base", str(bad))
    bad.write_text("stages:\n  basic:\n    max_line_length: abc\n")
    with pytest.raises(ConfigError) as err:
        resolve("stack-base", str(bad))
    assert str(err.value) == (
        f"{bad}: stages.basic.max_line_length: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    )


def test_model_level_error_reads_as_a_sentence(tmp_path):
    """Was ``stages.comments: : Value error, ...``."""
    bad = tmp_path / "ratio.yaml"
    bad.write_text("stages:\n  comments:\n    enabled: true\n    min_ratio: 0.9\n")
    with pytest.raises(ConfigError) as err:
        resolve("stack-base", str(bad))
    assert str(err.value) == f"{bad}: stages.comments: min_ratio (0.9) must be below max_ratio (0.8)"


def test_errors_name_the_layer_that_set_the_key(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"^overrides: stages\.basic\.max_line_length: .*\(got -1\)$"):
        resolve("stack-base", overrides={"stages": {"basic": {"max_line_length": -1}}})
    presets = tmp_path / "presets"
    (presets / "variants").mkdir(parents=True)
    (presets / "mine.yaml").write_text("stages:\n  basic: {enabled: true, max_line_length: 0}\n")
    monkeypatch.setattr(config, "PRESETS_DIR", presets)
    monkeypatch.setattr(config, "VARIANTS_DIR", presets / "variants")
    with pytest.raises(
        ConfigError, match=rf"^{tmp_path.name}/presets/mine\.yaml: stages\.basic\.max_line_length: "
    ):
        resolve("mine")
    fixed = (
        tmp_path / "fix.yaml"
    )  # the user's file fixes the key: no error, and the origin follows the last layer
    fixed.write_text("stages:\n  basic: {max_line_length: 10}\n")
    assert resolve("mine", str(fixed)).stages["basic"].max_line_length == 10


def test_unknown_stage_preset_and_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^--stages: unknown stage 'basci' \(did you mean basic\?\)"):
        resolve("stack-base", only_stages=["basci"])
    with pytest.raises(
        ConfigError, match=r"^unknown preset 'santacodr' \(did you mean santacoder\?\); known: "
    ):
        resolve("santacodr")
    with pytest.raises(ConfigError, match="unknown variant 'nope'"):
        resolve("stack-base+nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stagez: {}\n")
    with pytest.raises(ConfigError) as err:
        resolve("stack-base", str(bad))
    assert str(err.value) == f"{bad}: stagez: unknown key (did you mean stages?)"
    bad.write_text("stages:\n  basik: {max_line_length: 5}\n")
    with pytest.raises(ConfigError, match=rf"^{bad}: stages\.basik: unknown stage \(did you mean basic\?\)"):
        resolve("stack-base", str(bad))


def test_missing_and_broken_config_files(tmp_path):
    with pytest.raises(ConfigError) as err:
        resolve("stack-base", str(tmp_path / "nope.yaml"))
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: no such file"
    broken = tmp_path / "broken.yaml"
    broken.write_text("stages: [\n")
    with pytest.raises(ConfigError, match=rf"^{broken}: not valid YAML: ") as err:
        resolve("stack-base", str(broken))
    assert "\n" not in str(err.value)


def test_only_stages_switches_others_off():
    cfg = resolve("stack-base", only_stages=["basic"])
    assert cfg.enabled == ["validate", "basic"]


def test_resolved_config_is_serialisable():
    data = resolve("stack-base").to_dict()
    assert data["stages"]["basic"]["max_line_length"] == 1000
    assert data["output"]["shard_target_mb"] == 256


def test_a_missing_stage_module_is_an_error_even_when_the_stage_is_off(monkeypatch):
    """stack-base lists ``stars`` switched off: its module missing is a broken build, never a skipped stage."""
    monkeypatch.setitem(sys.modules, "pipeline.stages.stars", None)  # import now raises ModuleNotFoundError
    with pytest.raises(ModuleNotFoundError, match="pipeline.stages.stars"):
        resolve("stack-base")
