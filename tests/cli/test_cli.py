"""Every command's --help, option spelling, unknown options, user mistakes (one line, exit 2) and Ctrl-C (130)."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cli.command as cli
from cli.command import CliParser, guarded, parse_count
from tests.conftest import ROOT

# module -> the function that builds its parser; pipeline.run's options are a Beam PipelineOptions class.
COMMANDS = {
    "pipeline.run": "pipeline.arguments:run_parser",
    "samplegen.sample": "samplegen.sample:build_parser",
    "ablation.ablate": "ablation.ablate:build_parser",
    "release.publish": "release.publish:build_parser",
    "pipeline.prepare_decontam": "pipeline.prepare_decontam:build_parser",
    "pipeline.finish": "pipeline.finish:build_parser",
    "pipeline.job_servers": "pipeline.job_servers:build_parser",
    "tokenizer.sample_data": "tokenizer.sample_data:build_parser",
    "tokenizer.train": "tokenizer.train:build_parser",
    "tokenizer.tokenize": "tokenizer.tokenize:build_parser",
    "tokenizer.fertility": "tokenizer.fertility:build_parser",
    "model.train": "model.train:build_parser",
    "model.evaluate": "model.evaluate:build_parser",
    "pii.evaluate": "pii.evaluate:build_parser",
    "pii.scan_tree": "pii.scan_tree:build_parser",
    "pii.shapes": "pii.shapes:build_parser",
}
# Run as scripts but not by users: Beam starts this one for each local worker process (no options).
NOT_COMMANDS = {"pipeline.worker_client"}
PACKAGES = (
    "pipeline",
    "samplegen",
    "release",
    "ablation",
    "decontam",
    "dedup",
    "filters",
    "pii",
    "tokenizer",
    "model",
)


def _parser(command: str) -> argparse.ArgumentParser:
    module, function = COMMANDS[command].split(":")
    return getattr(importlib.import_module(module), function)()


def _required_args(parser: argparse.ArgumentParser) -> list[str]:
    """The smallest argv the parser accepts (values are never used: parsing fails before any work)."""
    argv: list[str] = []
    for action in parser._actions:
        if not action.option_strings:
            argv.append(action.choices[0] if action.choices else "x")
        elif action.required:
            argv += [action.option_strings[0], "1"]
    return argv


def test_every_command_is_in_the_list():
    """Any module with a ``__main__`` block is a command and must be covered here (benches and NOT_COMMANDS
    excepted)."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            if re.search(r'^if __name__ == "__main__":', path.read_text(), re.M):
                found.add(f"{package}.{path.stem}")
    assert found - NOT_COMMANDS == set(COMMANDS) and NOT_COMMANDS <= found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_every_option_with_default_and_choices(command, capsys):
    parser = _parser(command)
    text = parser.format_help()
    flat = " ".join(text.split())
    for action in parser._actions:
        if not action.option_strings:
            continue
        canonical = action.option_strings[0]
        assert canonical in text, canonical
        assert action.help, f"{command} {canonical} has no help"
        assert "-" not in canonical.lstrip("-"), f"{command} {canonical}: options are snake_case"
        if action.default not in (None, False, argparse.SUPPRESS, []) and "%(default)" not in action.help:
            shown = cli.format_count(action.default) if action.type is parse_count else action.default
            assert f"(default: {shown})" in flat, (command, canonical)
        for choice in action.choices or ():
            assert str(choice) in text, (command, canonical, choice)
    module = importlib.import_module(command)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == text  # main uses this very parser


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_misspelled_option_is_an_error_naming_it_and_the_close_match(command, capsys):
    parser = _parser(command)
    module = importlib.import_module(command)
    options = [a for a in parser._actions if a.option_strings and a.option_strings[0].startswith("--")]
    if not options:  # positional arguments only: any option is unknown, with nothing close to suggest
        with pytest.raises(SystemExit) as done:
            module.main([*_required_args(parser), "--jar_dir", "1"])
        assert done.value.code == 2
        assert "unknown option --jar_dir" in capsys.readouterr().err
        return
    action = max(
        options, key=lambda a: len(a.option_strings[0])
    )  # a long one gives difflib something to match
    target, spelled = (
        action.option_strings[0],
        action.option_strings[-1],
    )  # the dashed alias when there is one
    typo = spelled[:-2] + spelled[-1] + spelled[-2]
    with pytest.raises(SystemExit) as done:
        module.main([*_required_args(parser), typo, "1"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"unknown option {typo} (did you mean {target}?)" in err


def test_dashed_spelling_is_an_alias_never_dropped():
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    from pipeline.options import CurateOptions, parse
    from samplegen.sample import build_parser as sample_parser

    args = sample_parser().parse_args(["--output", "o", "--size-mb", "3", "--benchmarks-dir", "b"])
    assert (args.size_mb, args.benchmarks_dir) == (3.0, "b")
    argv = ["--input", "i", "--output", "o", "--benchmarks-dir", "b", "--temp-location=/t", "--optout-list=x"]
    options = parse(argv)
    curate = options.view_as(CurateOptions)
    assert (curate.benchmarks_dir, curate.optout_list) == ("b", "x")
    assert options.view_as(GoogleCloudOptions).temp_location == "/t"  # Beam's own options have the alias too


def test_runner_specific_beam_options_pass_and_unknown_ones_are_named(capsys, caplog):
    from apache_beam.options.pipeline_options import (
        FlinkRunnerOptions,
        S3Options,
        TestOptions,
        WorkerOptions,
    )

    from pipeline.options import parse

    base = ["--input", "i", "--output", "o"]
    runner_options = [
        "--flink_master=localhost:8081",
        "--s3_endpoint_url=http://localhost:9000",
        "--sdk_container_image=img:1",
        "--dry_run=True",
        "--experiments=a",
        "--experiments=b",
    ]
    options = parse(base + runner_options)
    assert options.view_as(FlinkRunnerOptions).flink_master == "localhost:8081"
    assert options.view_as(S3Options).s3_endpoint_url == "http://localhost:9000"
    assert options.view_as(WorkerOptions).sdk_container_image == "img:1"
    assert options.view_as(TestOptions).dry_run == "True"
    with pytest.raises(SystemExit) as done:
        parse([*base, "--flink_mastr=x", "--confg", "x.yaml"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "pipeline.run: unknown options --flink_mastr (did you mean --flink_master?), "
        "--confg (did you mean --config?); see --help\n"
    )
    # a portable runner's job server defines options of its own: passed on, with a warning naming them
    parse(
        [*base, "--runner=FlinkRunner", "--flink_job_server_jar=job-server.jar", "--checkpointing_interval=5"]
    )
    assert "--checkpointing_interval" in caplog.text and "unchecked" in caplog.text


def test_commands_with_beam_options_get_them_checked_and_canonical(capsys):
    from cli.command import parse_beam_command
    from tokenizer.sample_data import build_parser
    from tokenizer.tokenize import main as tokenize_main

    argv = [
        "--input",
        "d",
        "--output",
        "o",
        "--direct-num-workers",
        "2",
        "--rows-per-lang",
        "1k",
        "--runner=X",
    ]
    args, beam_args = parse_beam_command(build_parser(), argv[:-1])
    assert args.rows_per_lang == 1000
    assert beam_args == ["--direct_num_workers", "2"]
    with pytest.raises(SystemExit):
        parse_beam_command(build_parser(), [*argv[:6], "--direct_num_worker", "2"])
    assert (
        "unknown option --direct_num_worker (did you mean --direct_num_workers?)" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        tokenize_main(["--input", "d", "--tokenizer", "t", "--output", "o", "--direct_num_workers=2"])
    assert (
        capsys.readouterr().err
        == "tokenizer.tokenize: Beam options need --beam: --direct_num_workers=2; see --help\n"
    )


def test_help_beam_lists_every_beam_option(capsys):
    from pipeline.arguments import run_parser

    with pytest.raises(SystemExit) as done:
        run_parser().parse_args(["--help_beam"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--runner", "--direct_num_workers", "--flink_master", "--s3_endpoint_url", "--dry_run"):
        assert f"{option} " in text


@pytest.mark.parametrize(
    "text, value",
    [
        ("2000000", 2_000_000),
        ("2_000_000", 2_000_000),
        ("2M", 2_000_000),
        ("1.5k", 1500),
        ("20B", 20 * 10**9),
    ],
)
def test_counts_take_sizes(text, value):
    assert parse_count(text) == value
    assert parse_count(cli.format_count(value)) == value


@pytest.mark.parametrize("text", ["2Q", "1.5", "-3", "", "0.0001k"])
def test_counts_refuse_what_is_not_a_whole_count(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected a count like"):
        parse_count(text)


def test_model_sizes_of_ablate_are_the_model_configs():
    from ablation.ablate import MODEL_SIZES
    from model.configs import NAMED_CONFIGS

    assert MODEL_SIZES == tuple(NAMED_CONFIGS)


# --- user mistakes: one line, exit 2; our bugs keep their traceback --------------------------------------


def _yaml(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_user_mistakes_print_one_line_and_exit_2(tmp_path, sample_dir, capsys):
    from pipeline.config import PRESETS_DIR
    from pipeline.run import main
    from pipeline.stages import ORDER

    presets = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
    empty = tmp_path / "empty"
    empty.mkdir()
    no_content = tmp_path / "nocontent"
    no_content.mkdir()
    pq.write_table(
        pa.table({"text": ["x"], "max_stars_repo_name": ["a/b"], "max_stars_repo_path": ["x.py"]}),
        no_content / "a.parquet",
    )
    typo = _yaml(tmp_path, "my.yaml", "stages:\n  basic:\n    max_line_lenght: 5\n")
    wrong_type = _yaml(tmp_path, "type.yaml", "stages:\n  basic:\n    max_line_length: abc\n")
    ratio = _yaml(tmp_path, "ratio.yaml", "stages:\n  comments:\n    enabled: true\n    min_ratio: 0.9\n")
    cases = {
        f"{typo}: stages.basic.max_line_lenght: unknown key (did you mean max_line_length?)": [
            "--config",
            typo,
        ],
        f"{wrong_type}: stages.basic.max_line_length: Input should be a valid integer, unable to parse string as "
        "an integer (got 'abc')": ["--config", wrong_type],
        f"{ratio}: stages.comments: min_ratio (0.9) must be below max_ratio (0.8)": ["--config", ratio],
        f"--input '{empty}': no parquet or jsonl files found": ["--input", str(empty)],
        f"{no_content}/a.parquet: missing required column(s) content": ["--input", str(no_content)],
        f"--stages: unknown stage 'basci' (did you mean basic?); known stages: {', '.join(ORDER)}": [
            "--stages",
            "basci",
        ],
        f"unknown preset 'santacodr' (did you mean santacoder?); known: {', '.join(presets)}": [
            "--preset",
            "santacodr",
        ],
        f"{tmp_path}/nope.yaml: no such file": ["--config", str(tmp_path / "nope.yaml")],
        "--output is required; see --help": ["--output", ""],
    }
    for number, (message, extra) in enumerate(cases.items()):
        out = str(tmp_path / f"out{number}")
        argv = ["--input", str(sample_dir), "--output", out, "--stages", "basic", "--quiet", *extra]
        assert guarded(main, "pipeline.run", argv) == 2, message
        captured = capsys.readouterr()
        assert captured.err == f"pipeline.run: {message}\n", extra
        assert captured.out == ""
        if "--input" not in extra:  # the input's columns are checked once the output is started
            assert not Path(out).exists(), extra  # refused before anything was written


def test_our_own_bugs_keep_their_traceback():
    def buggy(argv):
        raise KeyError("char_token_ratio")

    with pytest.raises(KeyError):
        guarded(buggy, "x")


def test_user_errors_raised_inside_beam_are_found_in_the_chain(capsys):
    from pipeline.inputs import InputError

    def wrapped(argv):
        try:
            raise InputError("data.parquet, row group 3: cannot be read")
        except InputError as exc:
            raise RuntimeError("worker failed [while running 'Read/Rows']") from exc

    assert guarded(wrapped, "pipeline.run") == 2
    assert capsys.readouterr().err == "pipeline.run: data.parquet, row group 3: cannot be read\n"


def test_user_errors_of_a_module_run_as_main_are_recognised(monkeypatch, capsys):
    """``python -m release.publish`` defines ``__main__.PublishRefused``, not ``release.publish.PublishRefused``."""
    import importlib.machinery
    import types

    main_module = types.ModuleType("__main__")
    main_module.__spec__ = importlib.machinery.ModuleSpec("release.publish", None)
    main_module.PublishRefused = type("PublishRefused", (RuntimeError,), {})
    monkeypatch.setitem(sys.modules, "__main__", main_module)

    def refused(argv):
        raise main_module.PublishRefused(
            "ledger invariant fails for OUT (2 problems):\n  a: 0 rows\n  b: 1 row"
        )

    assert guarded(refused, "release.publish") == 2
    assert capsys.readouterr().err == (
        "release.publish: publish refused: ledger invariant fails for OUT (2 problems): a: 0 rows; b: 1 row\n"
    )


def test_traceback_switch_shows_user_errors_in_full(monkeypatch):
    from pipeline.config import ConfigError

    def mistaken(argv):
        raise ConfigError("my.yaml: stagez: unknown key")

    monkeypatch.setenv(cli.TRACEBACK_SWITCH, "1")
    with pytest.raises(ConfigError):
        guarded(mistaken, "pipeline.run")


def _command(args: list[str], script: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "STACKCURATE_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    head = ["-c", script] if script else ["-m", "pipeline.run"]
    return subprocess.run(
        [sys.executable, *head, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def test_a_new_user_typo_as_a_process(tmp_path, sample_dir):
    done = _command(
        ["--input", str(sample_dir), "--output", str(tmp_path / "o"), "--benchmarks-dir", "b", "--confg"]
    )
    assert done.returncode == 2
    assert done.stderr == "pipeline.run: unknown option --confg (did you mean --config?); see --help\n"
    assert done.stdout == ""


# Interrupts the run from inside a Beam step (the worst place: Beam re-raises it as a RuntimeError).
CTRL_C = """
import os, signal, sys, time
import pipeline.stages.basic as basic
judge = basic.BasicJudge.judge
def interrupted(self, docs):
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
    return judge(self, docs)
basic.BasicJudge.judge = interrupted
from cli.command import run_cli
from pipeline.run import main
sys.argv[0] = "pipeline.run"
run_cli(main, "pipeline.run")
"""


def test_ctrl_c_during_a_beam_run_exits_130_with_one_line(tmp_path, sample_dir):
    argv = ["--input", str(sample_dir), "--output", str(tmp_path / "o"), "--stages", "basic", "--quiet"]
    argv += ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]  # the patched judge runs here
    done = _command(argv, CTRL_C)
    assert done.returncode == 130, done.stderr[-3000:]
    assert done.stderr.splitlines()[-1] == "pipeline.run: interrupted"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stdout == ""


def test_a_second_ctrl_c_ends_the_process_even_when_the_first_was_swallowed(tmp_path):
    swallowing = """
import os, signal, sys, time
from cli.command import run_cli
def main(argv):
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        pass  # a library that carries on
    print("carried on", flush=True)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
    print("never here", flush=True)
    return 0
run_cli(main, "demo")
"""
    done = _command([], swallowing)
    assert done.returncode == 130
    assert done.stdout == "carried on\n"
    assert done.stderr == "demo: interrupted\n"


def test_parser_errors_are_one_line_without_aliases(capsys):
    parser = CliParser(prog="python -m demo")
    parser.add_argument("--max_tasks", type=int, help="tasks")
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-tasks", "many"])
    assert capsys.readouterr().err == "demo: argument --max_tasks: invalid int value: 'many'; see --help\n"
