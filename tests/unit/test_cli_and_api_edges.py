"""What two hunts found at the edges of the CLI and the Python API: paths that are links, pipes or
empty, files the system refuses, arguments of the wrong type, exit codes for Ctrl-C and closed pipes,
and results a notebook can print."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import ConfigError, InputError

ROWS = [{"prompt": f"question {i}", "chosen": f"good answer {i}", "rejected": f"bad {i}"} for i in range(30)]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_out_given_as_a_link_is_written_through_and_the_link_kept(raw, tmp_path):
    """The link was replaced by the dataset and the build then died on rmtree of a link (exit 3)."""
    (tmp_path / "target").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "target")
    prefdata.build(raw, tmp_path / "out")
    prefdata.build(raw, tmp_path / "out")  # and again, over the previous dataset
    assert (tmp_path / "out").is_symlink() and (tmp_path / "target" / "manifest.json").is_file()
    (tmp_path / "dangling").symlink_to(tmp_path / "elsewhere")
    prefdata.build(raw, tmp_path / "dangling")
    assert (tmp_path / "dangling").is_symlink() and (tmp_path / "elsewhere" / "data").is_dir()


def test_a_dataset_rebuilt_from_itself_reads_its_own_pairs(raw, tmp_path):
    """`prefdata build ds ds` said "nothing readable": RAW's data/ was left out as being OUT."""
    prefdata.build(raw, tmp_path / "ds")
    again = prefdata.build(tmp_path / "ds", tmp_path / "ds", test_fraction=0.2)
    assert again.counts["records_read"] == 30 and again.counts["pairs_written"] == 30


def test_raw_that_is_a_pipe_and_out_in_a_file_are_input_errors(raw, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="neither a file nor a folder"):
        prefdata.build(tmp_path / "fifo", tmp_path / "out")
    with pytest.raises(prefdata.errors.OutputError, match="cannot write in the folder that holds it"):
        prefdata.build(raw, raw / "out")  # OUT's parent is a file


def test_wrongly_typed_arguments_are_the_api_own_errors(raw, tmp_path):
    from prefdata.check.errors import OptionsError
    from prefdata.report.errors import ReportError

    with pytest.raises(ConfigError, match="dedup must be True or False"):
        prefdata.build(raw, tmp_path / "out", dedup="no")  # recorded as "no" and read back as False
    with pytest.raises(InputError, match="raw must be a path"):
        prefdata.inspect(5)
    with pytest.raises(InputError, match="sample_size must be a whole number >= 1"):
        prefdata.inspect(raw, sample_size=0)
    built = prefdata.build(raw, tmp_path / "out")
    with pytest.raises(OptionsError, match="max_length must be a whole number"):
        prefdata.check(built.out, tokenizer=tmp_path, max_length="512")
    with pytest.raises(ReportError, match="seed must be a whole number"):
        prefdata.report(built.out, seed=1.5)



def test_a_log_that_is_no_function_and_a_seed_past_64_bits_are_said_plainly(raw, tmp_path):
    """``log="x"`` was a bare TypeError from deep in the build; a seed of 2**64 was "less than
    18446744073709552000", the bound rounded to a float, from the API and from a config alike."""
    with pytest.raises(ConfigError, match=r"log must be a function taking one line of text .*got str 'x'"):
        prefdata.build(raw, tmp_path / "out", log="x")
    said = r"a seed is a whole number from 0 to 2\*\*64 - 1 \(18446744073709551615\), got 18446744073709551616"
    with pytest.raises(ConfigError, match=r"--seed: " + said):
        prefdata.build(raw, tmp_path / "out", seed=2**64)
    config = tmp_path / "c.yaml"
    config.write_text("sources: [{shape: preference}]\nsplit: {seed: 18446744073709551616}\n")
    with pytest.raises(ConfigError, match=r"split.seed: " + said):
        prefdata.build(raw, tmp_path / "out", config=config)
    assert prefdata.build(raw, tmp_path / "out", seed=2**64 - 1, quiet=True).counts["pairs_written"] == len(ROWS)


def test_yes_no_options_refuse_text_that_would_read_as_true(raw, tmp_path):
    """A pipeline's "no" (an environment variable, a YAML 1.1 file) was truthy: check(strict="no")
    failed the dataset on warnings, report(card="no") rewrote README.md, train_sft(overwrite="no")
    replaced the previous model directory."""
    from prefdata.check.errors import OptionsError
    from prefdata.report.errors import DatasetError, ReportError
    from prefdata.train.errors import TrainError
    from prefdata.train.prepare import prepare_inputs

    built = prefdata.build(raw, tmp_path / "out")
    card = (built.out / "README.md").read_bytes()
    for option in ("strict", "write", "quiet"):
        with pytest.raises(OptionsError, match=f"{option} must be True or False, got 'no'"):
            prefdata.check(built.out, **{option: "no"})
    for option in ("card", "run_checks"):
        with pytest.raises(ReportError, match=f"{option} must be True or False, got 'no'"):
            prefdata.report(built.out, **{option: "no"})
    assert (built.out / "README.md").read_bytes() == card and not (built.out / "report.html").exists()
    with pytest.raises(DatasetError, match="the dataset must be a path"):
        prefdata.report(5)
    with pytest.raises(ConfigError, match="quiet must be True or False"):
        prefdata.build(raw, tmp_path / "out2", quiet=0)
    previous = tmp_path / "previous-model"
    previous.mkdir()
    (previous / "weights.bin").write_bytes(b"kept")
    for option in ("overwrite", "no_check", "from_instruct"):
        with pytest.raises(TrainError, match=f"{option} must be True or False, got 'no'"):
            prepare_inputs("dpo", data=built.out, model="m", output=previous, **{option: "no"})
    with pytest.raises(TrainError, match="data must be a path"):
        prepare_inputs("sft", data=123, model="m", output=previous)
    assert (previous / "weights.bin").read_bytes() == b"kept"

def test_results_print_as_one_line_and_checks_json_is_readable_by_others(raw, tmp_path):
    built = prefdata.build(raw, tmp_path / "out")
    result = prefdata.check(built.out)
    assert len(repr(built)) < 300 and repr(built).startswith("BuildResult(out=")
    assert len(repr(result)) < 300 and "passed=" in repr(result)
    old = os.umask(0o022)
    try:
        prefdata.check(built.out)
    finally:
        os.umask(old)
    assert stat.S_IMODE((built.out / "checks.json").stat().st_mode) == 0o644  # mkstemp made it 0600


@pytest.mark.parametrize("name", ["checks.json", "report.html"])
def test_a_refused_output_file_is_named_not_its_temporary_file(raw, tmp_path, name):
    """A folder at OUT/checks.json was reported as "Is a directory: OUT/.checks-k3j2x9.json", the
    temporary file (already deleted) that os.replace names first; report.html alike."""
    built = prefdata.build(raw, tmp_path / "out")
    (built.out / name).mkdir()
    with pytest.raises(IsADirectoryError) as err:
        prefdata.check(built.out) if name == "checks.json" else prefdata.report(built.out)
    assert err.value.filename == str(built.out / name) and err.value.filename2 is None
    assert sorted(p.name for p in built.out.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_config_files_in_utf16_are_read_and_other_bytes_are_named(raw, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes("sources:\n  - shape: preference\n    columns: {prompt: prompt}\n".encode("utf-16"))  # PowerShell's `>`
    assert prefdata.build(raw, tmp_path / "out", config=config).counts["pairs_written"] == 30
    config.write_bytes(b"# caf\xe9\nsources:\n  - shape: preference\n    columns: {prompt: prompt}\n")  # Latin-1
    with pytest.raises(ConfigError, match=r"c\.yaml: not UTF-8 text"):
        prefdata.build(raw, tmp_path / "out", config=config)
    with pytest.raises(ConfigError, match="is a folder"):
        prefdata.build(raw, tmp_path / "out", config=tmp_path)


@pytest.mark.parametrize(
    "args",
    [["build", "", "out"], ["build", "raw", "out", "--config", ""], ["check", ""], ["report", ""], ["inspect", ""],
     ["train", "sft", "--data", "", "--model", "m", "--output", "o"], ["train", "sft", "--data", "d", "--model", "m", "--output", ""]],
)
def test_an_empty_path_argument_is_refused(tmp_path, args):
    """`prefdata build "$RAW" out` with RAW unset built every file under the current folder."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "is empty" in result.output


def test_inspect_refuses_counts_below_one(raw):
    assert CliRunner().invoke(cli, ["inspect", str(raw), "--sample", "0"]).exit_code == 2
    assert CliRunner().invoke(cli, ["inspect", str(raw), "--examples", "-1"]).exit_code == 2


def _aborted_by(cause: BaseException):
    import click

    try:
        raise click.exceptions.Abort() from cause
    except click.exceptions.Abort as abort:
        return abort


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (KeyboardInterrupt(), 130),
        (_aborted_by(KeyboardInterrupt()), 130),  # click's wrapper of Ctrl-C
        (_aborted_by(EOFError()), 3),  # click wraps an EOFError the same way: a bug, not a cancelled run
        (PermissionError(13, "Permission denied", "ds/.checks-x.json"), 2),
        # README: a read-only dataset is checked with `--no-write`; CheckResult.write names checks.json itself
        (PermissionError(13, "Permission denied", "/data/ds/checks.json"), 2),
        (FileNotFoundError(2, "No such file or directory", "prefdata/resources/x.json"), 3),  # as likely a bug
    ],
)
def test_the_entry_point_gives_interrupts_and_system_refusals_their_own_codes(monkeypatch, capsys, raised, code):
    """Ctrl-C exited 1 (the code of failed data) and a file the system refused exited 3 (a bug)."""
    import prefdata.cli as entry

    def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(entry.cli, "main", fail)
    with pytest.raises(SystemExit) as info:
        entry.main()
    assert info.value.code == code
    if code == 2:
        err = capsys.readouterr().err
        assert f"error: Permission denied: {raised.filename} (a read-only dataset can be checked with `prefdata check --no-write`)" in err


@pytest.mark.parametrize("left", [TypeError("'<unprintable str object>' is not a Polars data type"),
                                  OSError(5, "Input/output error"), click.UsageError("bad")])
def test_an_interrupt_that_comes_back_as_another_error_is_still_an_interrupt(monkeypatch, capsys, left):
    """A Ctrl-C inside Python code that polars' Rust called came back as a TypeError (seen in 1 of 120
    interrupted checks) and exited 3 saying "a bug". Once a Ctrl-C came, whatever error it left is
    the interruption: "interrupted", exit 130 (README: Ctrl-C is 130), no traceback."""
    import prefdata.cli as entry

    def interrupted_then_failed(*args, **kwargs):
        monkeypatch.setattr(entry._Interrupt, "seen", True)
        raise left

    monkeypatch.setattr(entry.cli, "main", interrupted_then_failed)
    with pytest.raises(SystemExit) as info:
        entry.main()
    err = capsys.readouterr().err
    assert (info.value.code, err) == (130, "interrupted\n")


def test_the_command_takes_ctrl_c_while_it_runs_and_the_console_entry_ignores_it_on_the_way_out(monkeypatch):
    """``main()`` sets its handler (which notes a Ctrl-C, above, and raises KeyboardInterrupt) only over
    Python's own, and puts Python's back: a caller's handler, or a background job's ignored SIGINT,
    stays. ``console_main()`` (the console script, ``python -m prefdata``) then ignores SIGINT, so one
    arriving while the interpreter shuts down cannot end the process by the signal."""
    import prefdata.cli as entry

    seen = []
    monkeypatch.setattr(entry.cli, "main", lambda *a, **k: seen.append(signal.getsignal(signal.SIGINT)) or 0)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(SystemExit):
        entry.main()
    assert seen == [entry._on_interrupt] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(SystemExit):
        entry.console_main()
    assert seen[-1] is entry._on_interrupt and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    with pytest.raises(KeyboardInterrupt):
        entry._on_interrupt(signal.SIGINT, None)
    assert entry._Interrupt.seen

    def callers(signum, frame):  # a wrapper's or a notebook's own
        raise KeyboardInterrupt

    for kept in (signal.SIG_IGN, callers):
        signal.signal(signal.SIGINT, kept)
        with pytest.raises(SystemExit):
            entry.main()
        assert seen[-1] is kept and signal.getsignal(signal.SIGINT) is kept


def test_a_ctrl_c_in_one_call_does_not_make_the_next_one_interrupted(monkeypatch, capsys):
    """The flag is per call: after an interrupted ``main()`` in the same process, a usage error is
    exit 2 with click's message, not "interrupted"."""
    import prefdata.cli as entry

    monkeypatch.setattr(entry._Interrupt, "seen", True)
    monkeypatch.setattr(sys, "argv", ["prefdata", "build", "--no-such-option"])
    with pytest.raises(SystemExit) as info:
        entry.main()
    assert info.value.code == 2 and "No such option '--no-such-option'" in capsys.readouterr().err


def test_an_api_name_whose_module_fails_to_import_raises_that_error():
    """Loaded on first use, ``from prefdata import build`` met an AttributeError inside the pipeline's
    import (a dependency's: numpy 2 beside an older pyarrow) as "no such name", and bound the
    subpackage ``prefdata.build``: ``build(...)`` then said "'module' object is not callable"."""
    code = (
        "import polars\n"
        "del polars.Struct\n"  # a name the pipeline uses at import, gone as in a mismatched install
        "try:\n"
        "    from prefdata import build\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, str(exc).split(':')[0], isinstance(exc.__cause__, AttributeError))\n"
    )
    assert _printed_by(code) == "ImportError cannot load prefdata.build True"


def test_importing_prefdata_or_its_command_loads_no_data_stack():
    """``import prefdata`` imported polars and the whole pipeline (about 1.5 s), so a Ctrl-C in the
    command's first second hit the import, before its handling: a KeyboardInterrupt traceback and
    an end by the signal. The API names load on first use, and are the functions whichever of their
    modules was imported first (``prefdata.build`` is also a subpackage)."""
    code = (
        "import sys, prefdata, prefdata.cli\n"
        "heavy = sorted(m for m in ('polars', 'pyarrow', 'numpy', 'prefdata.build.pipeline') if m in sys.modules)\n"
        "import prefdata.build.pipeline, prefdata.inspect, prefdata.check.api, prefdata.report\n"
        "from prefdata import build, check, inspect, report, BuildResult\n"
        "names = [getattr(prefdata, n).__qualname__ for n in ('build', 'check', 'inspect', 'report', 'BuildResult')]\n"
        "print(heavy, names, build is prefdata.build, 'build' in dir(prefdata))\n"
    )
    assert _printed_by(code) == "[] ['build', 'check', 'inspect', 'report', 'BuildResult'] True True"


@pytest.mark.parametrize("first", ["", "import prefdata; prefdata.check; prefdata.build; prefdata.report\n"])
def test_a_module_under_a_function_name_imports_with_as(first):
    """``import prefdata.check.api as api`` reads ``check`` off the package, which is the function, then
    falls back to ``sys.modules`` under the function's ``__name__`` + ".api": "cannot import name 'api'
    from 'check'" while the function was named ``check``. Whether or not the API names were used
    first, the modules under them import with ``as``, and the names stay the functions."""
    code = first + (
        "import prefdata.check.api as a, prefdata.check.checks.pii as b, prefdata.build.pipeline as c, prefdata.report.api as d\n"
        "import prefdata, types\n"
        "print([m.__name__ for m in (a, b, c, d)], all(isinstance(f, types.FunctionType) for f in (prefdata.check, prefdata.build, prefdata.report)))\n"
    )
    assert _printed_by(code) == "['prefdata.check.api', 'prefdata.check.checks.pii', 'prefdata.build.pipeline', 'prefdata.report.api'] True"


def _printed_by(code: str) -> str:
    """What ``code`` prints in a fresh interpreter: what ``import prefdata`` loads depends on what was imported before."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_raw_folder_inside_out_is_read_and_kept_unless_the_build_replaces_it(raw, tmp_path):
    """RAW = OUT/extra was read, and then deleted with the old OUT; now the swap keeps it. RAW in a
    folder the build replaces (rejects/, kto/) or a glob that may match one is refused."""
    prefdata.build(raw, tmp_path / "ds")
    (tmp_path / "ds" / "extra").mkdir()
    (tmp_path / "ds" / "extra" / "logs.jsonl").write_text(raw.read_text())
    kept = prefdata.build(tmp_path / "ds" / "extra", tmp_path / "ds", test_fraction=0.5)
    assert kept.counts["records_read"] == 30
    assert (tmp_path / "ds" / "extra" / "logs.jsonl").read_text() == raw.read_text()
    for inside in (tmp_path / "ds" / "rejects", f"{tmp_path / 'ds'}/*/logs.jsonl"):
        with pytest.raises(InputError, match="which the build replaces: move the raw files out of it first"):
            prefdata.build(inside, tmp_path / "ds")
    assert prefdata.build(tmp_path / "ds" / "data", tmp_path / "ds").counts["records_read"] == kept.counts["pairs_written"]  # its own pairs


def test_check_json_stays_json_on_a_terminal_that_cannot_show_a_name(raw, tmp_path):
    import subprocess
    import sys

    built = prefdata.build(raw, tmp_path / "ds\U0001f600")
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    done = subprocess.run([sys.executable, "-m", "prefdata", "check", str(built.out), "--json", "--no-write"],
                          capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dataset"].endswith("ds\U0001f600")


def test_filter_numbers_only_yaml_11_reads_are_refused():
    from prefdata.shapes.filters import parse_filter

    with pytest.raises(ConfigError, match="'1_000' is text in YAML 1.2"):
        parse_filter("n == 1_000")
    assert parse_filter('n == "1_000"').value == "1_000" and parse_filter("n == 1000").value == 1000
    # the hint names the number YAML 1.1 meant: 0b101 has no '_' to drop
    for text, meant in (("0b101", 5), ("1_000", 1000), ("0x1F_0", 496)):
        with pytest.raises(ConfigError, match=f"read it as the number {meant}\\); write {meant}, or quote it"):
            parse_filter(f"n == {text}")



def _reader_leaves_after_one_line(args: list[str]) -> tuple[int, bytes]:
    """Run ``prefdata ARGS | head -1``: read a line, close the pipe, wait."""
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "prefdata", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    return proc.wait(), b""


def test_a_reader_that_leaves_does_not_change_the_exit_code(tmp_path):
    """click made a broken pipe exit 1 (a failed check's code) at whichever line met it."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):  # more output than a pipe holds, so writes go on after the reader left
        (folder / f"f{i:03d}.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    assert _reader_leaves_after_one_line(["inspect", str(folder)])[0] == 0
    rc, _ = _reader_leaves_after_one_line(["build", str(folder), str(tmp_path / "out")])
    assert rc == 0 and (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.parametrize("name", ["my out [v1]", "ds*"])
def test_a_dataset_path_with_glob_characters_is_read_literally(raw, tmp_path, name):
    """polars reads a path as a glob by default: a dataset in `my out [v1]` built (until it had more
    than one partition: its spill files were not found, exit 3), but check and report found no shards
    (exit 2); `ds*` matched its neighbour `ds1` too."""
    out = tmp_path / name
    prefdata.build(raw, tmp_path / "ds1")
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(raw), str(out), "-q", "--partitions", "2"]).exit_code == 0
    checked = runner.invoke(cli, ["check", str(out), "-q"])
    assert checked.exit_code in (0, 1), checked.output
    assert json.loads((out / "checks.json").read_text())["rows"] == 30
    reported = runner.invoke(cli, ["report", str(out), "--no-card"])
    assert reported.exit_code == 0, reported.output
    bench = out / "bench [x].csv"
    bench.write_text("prompt\nquestion 3\n")
    assert prefdata.check(out, benchmark_prompts=bench, write=False).check("contamination").offending_count == 1


def _full_disk(*args, **kwargs):
    """What polars raises when the disk fills under ``DataFrame.write_parquet``."""
    import polars as pl

    raise pl.exceptions.ComputeError("parquet: File out of specification: underlying IO error: No space left on device (os error 28)")


def test_a_full_disk_during_a_build_is_exit_2_naming_the_file(raw, tmp_path, monkeypatch, capsys):
    """polars wraps ENOSPC in a ComputeError, which the entry point took for a bug (exit 3, traceback)."""
    import polars as pl

    import prefdata.cli as entry

    out = tmp_path / "ds"
    prefdata.build(raw, out)
    before = (out / "manifest.json").read_bytes()
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _full_disk)
    monkeypatch.setattr("sys.argv", ["prefdata", "build", str(raw), str(out), "-q", "--test-fraction", "0.5"])
    with pytest.raises(SystemExit) as info:
        entry.main()
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert "No space left on device: " in err and "train-00000-of-00001.parquet" in err and "previous OUT is left as it was" in err
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "raw.jsonl"] == ["ds"]


@pytest.mark.parametrize(
    "message",
    [
        "underlying IO error: No space left on device (os error 28)",  # polars
        "parquet write failed: [Errno 28] No space left on device",  # Python's and pyarrow's OSError text
        "ERRNO 28",
    ],
)
def test_writing_reads_the_errno_in_a_polars_message_however_it_is_written(message):
    """errors.writing: a polars error carrying an errno ("(os error 28)", "[errno 28]", any case) is the
    OSError it stands for, naming the file written, so the CLI exits 2 naming it, not 3 (a bug)."""
    import errno

    import polars as pl

    from prefdata.errors import writing

    assert str(OSError(errno.ENOSPC, "No space left on device")) == "[Errno 28] No space left on device"
    with pytest.raises(OSError) as info, writing("out/data/train.parquet"):
        raise pl.exceptions.ComputeError(message)
    assert (info.value.errno, info.value.filename) == (errno.ENOSPC, "out/data/train.parquet")


def test_a_raw_read_error_while_writing_rejects_names_the_raw_file(tmp_path, monkeypatch):
    """A read error of RAW while the rejects' raw text was read back (EIO from ``os.pread``, which
    names no file) was reported as a refused write of the temp rejects shard: ``writing()`` wrapped
    the whole of ``write_rejects``, reads included."""
    import errno

    from prefdata.io import records

    raw = tmp_path / "raw.jsonl"
    line = json.dumps(ROWS[0]) + "\n"
    raw.write_text(line + line)  # the copy is a pass-2 duplicate: its raw text is read back by offset

    def failing_disk(self, spans):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(records.LineIndex, "_read_spans", failing_disk)
    with pytest.raises(OSError, match="Input/output error") as info:
        prefdata.build(raw, tmp_path / "ds", test_fraction=0)
    assert info.value.filename == str(raw)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_under_check_and_report_names_the_file(raw, tmp_path, monkeypatch):
    """A write refused for space ("No space left on device") named no file: file.write leaves it out."""
    from prefdata.check import results
    from prefdata.report import api

    out = tmp_path / "ds"
    prefdata.build(raw, out)

    def to_full_disk(fd, *args, **kwargs):
        os.close(fd)
        return open("/dev/full", "w", encoding="utf-8")

    with monkeypatch.context() as patched:
        patched.setattr(results.os, "fdopen", to_full_disk)
        with pytest.raises(OSError, match="No space left on device") as info:
            prefdata.check(out)
    assert info.value.filename == str(out / "checks.json")

    def to_full(self, text, *args, **kwargs):
        with open("/dev/full", "w", encoding="utf-8") as f:
            f.write(text)

    monkeypatch.setattr(api.Path, "write_text", to_full)
    with pytest.raises(OSError, match="No space left on device") as info:
        prefdata.report(out)
    assert info.value.filename == str(out / "report.html")


def _run_with_closed(fd: int, args: list[str]) -> tuple[int, bytes]:
    """Run ``prefdata ARGS`` with fd 1 or 2 closed (``>&-``, ``2>&-``): Python sets that stream to None."""
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    other = subprocess.PIPE
    done = subprocess.run([sys.executable, "-m", "prefdata", *args], env=env, check=False,
                          stdout=other if fd != 1 else None, stderr=other if fd != 2 else None,
                          preexec_fn=lambda: os.close(fd))
    return done.returncode, (done.stderr or b"") + (done.stdout or b"")


def test_a_closed_stdout_or_stderr_changes_nothing(raw, tmp_path):
    """The entry point wrapped the None stream Python gives for a closed fd: `--version >&-` was a
    traceback and exit 120, `build RAW OUT 2>&-` exited 1 (a failed check's code) without writing OUT."""
    rc, said = _run_with_closed(1, ["--version"])
    assert rc == 0 and b"Traceback" not in said, said
    rc, said = _run_with_closed(2, ["build", str(raw), str(tmp_path / "out")])
    assert rc == 0 and (tmp_path / "out" / "manifest.json").is_file(), said
    rc, said = _run_with_closed(1, ["check", str(tmp_path / "out")])
    assert rc == 0 and b"Traceback" not in said and b"Exception ignored" not in said, said


def test_every_command_refuses_an_option_given_twice(raw, tmp_path):
    """click keeps the last of a repeated option: `build --test-fraction 0.1 --test-fraction 0.3` split 0.3."""
    runner = CliRunner()
    out = tmp_path / "out"
    for args, said in (
        (["build", str(raw), str(out), "--test-fraction", "0.1", "--test-fraction=0.3"], "'--test-fraction' is given twice"),
        (["inspect", str(raw), "--sample", "5", "--sample", "9", "--sample", "2"], "'--sample' is given 3 times"),
        (["check", str(out), "--max-length", "8", "--max-length", "9"], "'--max-length' is given twice"),
        (["report", str(out), "--seed", "1", "--seed", "1"], "'--seed' is given twice"),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and said in result.output, result.output
    assert not out.exists()
    assert runner.invoke(cli, ["build", str(raw), str(out), "-q", "-q"]).exit_code == 0  # a plain flag twice says nothing new
    assert runner.invoke(cli, ["build", str(raw), str(out), "--seed", "1", "--seed", "2", "--help"]).exit_code == 0


def test_a_mistyped_command_gets_a_suggestion():
    """`prefdata bild` said only "No such command": the lazy group left click's list of commands empty."""
    result = CliRunner().invoke(cli, ["bild"])
    assert result.exit_code == 2 and "Did you mean 'build'?" in result.output, result.output
    assert "Did you mean" not in CliRunner().invoke(cli, ["zzz"]).output


def test_help_says_what_report_run_checks_and_inspect_examples_do():
    """`--run-checks` also reruns a stale checks.json (overwriting it); `--examples` is capped by `--sample`."""
    def help_of(command: str) -> str:
        return " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())  # as one line, unwrapped

    assert "missing or stale (describes other data), overwriting it" in help_of("report")
    assert "at most --sample" in help_of("inspect")
