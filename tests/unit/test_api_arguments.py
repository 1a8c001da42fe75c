"""The Python API's arguments are checked as the commands check theirs: an empty path is refused,
not read (or replaced) as the current folder, and a number given as a bool or as text is refused
rather than taken as 1, 0 or the number it spells (``prefdata.arguments``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import ConfigError, InputError

ROWS = [{"prompt": f"question {i}", "chosen": f"good answer {i}", "rejected": f"bad {i}"} for i in range(5)]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current folder holding raw data: what an empty path would read, or replace as OUT."""
    here = tmp_path / "here"
    here.mkdir()
    (here / "logs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    monkeypatch.chdir(here)
    return here


def test_an_empty_path_is_refused_by_build_and_inspect_not_read_as_the_current_folder(raw, tmp_path, cwd):
    """inspect("") described the current folder, build("", OUT) built it and build(RAW, "") replaced it."""
    with pytest.raises(InputError, match="raw is an empty path"):
        prefdata.inspect("")
    with pytest.raises(InputError, match="raw is an empty path"):
        prefdata.build("", tmp_path / "out")
    with pytest.raises(InputError, match="out is an empty path"):
        prefdata.build(raw, "")
    with pytest.raises(ConfigError, match="config is an empty path"):
        prefdata.build(raw, tmp_path / "out", config="")
    assert sorted(p.name for p in cwd.iterdir()) == ["logs.jsonl"] and not (tmp_path / "out").exists()


def test_an_empty_path_is_refused_by_check_report_and_train(raw, tmp_path, cwd):
    """check(data_docs="") wrote Great Expectations' Data Docs into the current folder; an empty suite
    or config was "./: cannot read"; train_dpo(ref_model="") trained against the model itself, unsaid."""
    from prefdata.check.errors import CheckError
    from prefdata.report.errors import DatasetError
    from prefdata.train.errors import TrainError
    from prefdata.train.prepare import prepare_inputs

    built = prefdata.build(raw, tmp_path / "ds")
    with pytest.raises(CheckError, match="the dataset is an empty path"):
        prefdata.check("")
    for option in ("suite", "config", "benchmark_prompts", "data_docs"):
        with pytest.raises(CheckError, match=f"{option} is an empty path"):
            prefdata.check(built.out, **{option: ""}, **({"engine": "gx"} if option == "data_docs" else {}))
    with pytest.raises(CheckError, match="tokenizer is an empty path"):
        prefdata.check(built.out, tokenizer="", max_length=64)
    with pytest.raises(DatasetError, match="the dataset is an empty path"):
        prefdata.report("")
    for option in ("data", "output", "recipe"):
        with pytest.raises(TrainError, match=f"{option} is an empty path; name a file or folder"):
            prepare_inputs("dpo", **{"data": built.out, "model": "m", "output": tmp_path / "model", option: ""})
    for option in ("model", "ref_model"):
        with pytest.raises(TrainError, match=f"{option} is an empty path; name a model"):
            prepare_inputs("dpo", data=built.out, output=tmp_path / "model", **{"model": "m", option: ""})
    assert sorted(p.name for p in cwd.iterdir()) == ["logs.jsonl"]


@pytest.mark.parametrize(("option", "value"), [
    ("test_fraction", False), ("test_fraction", True), ("test_fraction", "0.2"),
    ("seed", True), ("seed", False), ("seed", "7"), ("seed", 1.0),
])
def test_build_refuses_a_bool_or_text_for_a_number(raw, tmp_path, option, value):
    """test_fraction=False built without a test split and seed=True with seed 1, while partitions=2.0
    was refused: pydantic's lax mode takes a bool for a number and text that spells one."""
    with pytest.raises(ConfigError, match=f"{option} must be a (whole )?number"):
        prefdata.build(raw, tmp_path / "out", **{option: value})
    assert not (tmp_path / "out").exists()


def test_build_still_takes_numbers_of_either_kind(raw, tmp_path):
    result = prefdata.build(raw, tmp_path / "out", test_fraction=0, seed=7)  # an int fraction is a fraction
    assert result.manifest["split"]["test_fraction"] == 0.0 and result.manifest["split"]["seed"] == 7


def test_numpy_numbers_are_numbers(raw, tmp_path):
    """A pipeline's seed and fraction are often numpy scalars (a column's value, ``np.random``): they
    built before the API checked its numbers, and are numbers to Python (``numbers.Integral``/``Real``);
    numpy's bools are refused as Python's are."""
    np = pytest.importorskip("numpy")
    result = prefdata.build(raw, tmp_path / "out", test_fraction=np.float32(0.25), seed=np.int64(7), partitions=np.int32(2))
    split = result.manifest["split"]
    assert split["test_fraction"] == 0.25 and split["seed"] == 7 and type(split["seed"]) is int
    assert prefdata.inspect(raw, sample_size=np.int64(3), examples=np.uint8(0)).files
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        prefdata.build(raw, tmp_path / "out2", seed=np.bool_(True))
    with pytest.raises(ConfigError, match="test_fraction must be a number"):
        prefdata.build(raw, tmp_path / "out2", test_fraction=np.bool_(False))


@pytest.mark.parametrize("partitions", [100_000, 2**32 + 1, 2**63, 2**64])
def test_partitions_past_what_shard_names_hold_are_refused(raw, tmp_path, partitions):
    """2**63 and more failed in pass 1 with a TypeError (exit 3); 2**32 + 1 ran for ever, writing two
    shards per partition. Shard names hold five digits: 99,999 partitions at most."""
    with pytest.raises(ConfigError, match="partitions must be a whole number from 1 to 99,999"):
        prefdata.build(raw, tmp_path / "out", partitions=partitions)
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--partitions", str(partitions)])
    assert res.exit_code == 2 and "'--partitions'" in res.output and "1<=x<=99999" in res.output
    assert not (tmp_path / "out").exists()
