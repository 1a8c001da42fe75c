"""The build config's numbers and switches are taken as YAML 1.2 reads them, as the check config and
the Python API take theirs: `seed: true` was seed 1, `max_pairs: "5"` was 5 and `higher_is_better:
"no"` (or `no`, text in YAML 1.2) was false, so a mistake built silently. Each is an error naming the
file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.config import load_config, parse_config
from prefdata.errors import ConfigError

RATED = {"shape": "rated", "columns": {"prompt": "q"}}
SOURCES = {
    "source": RATED,
    "ranked": {"shape": "ranked", "columns": {"prompt": "q"}},
    "feedback": {"shape": "feedback", "columns": {"prompt": "q", "response": "r"}},
    "pairwise": {"shape": "pairwise", "columns": {"prompt": "q", "winner": "w"}},
    "preference": {"shape": "preference", "columns": {"prompt": "q"}},
    "tree": {"shape": "tree"},
}


def _config(where: str, value: Any) -> dict[str, Any]:
    """A config with ``value`` at ``where``: a top-level path (``split.seed``), or one in a source of
    :data:`SOURCES` (``source.binarize.max_pairs``)."""
    top, _, rest = where.partition(".")
    if top in SOURCES:
        node = {**SOURCES[top]}
        cfg: dict[str, Any] = {"sources": [node]}
    else:
        node = cfg = {"sources": [RATED]}
        rest = where
    *parents, key = rest.split(".")
    for parent in parents:
        node = node.setdefault(parent, {})
    node[key] = value
    return cfg


WRONG = [
    ("split.seed", True, "split.seed", "valid integer, got true"),
    ("split.seed", "3", "split.seed", "valid integer, got the text '3'"),
    ("split.seed", 3.0, "split.seed", "valid integer, got 3.0"),
    ("split.test_fraction", True, "split.test_fraction", "valid number, got true"),
    ("split.test_fraction", "0.1", "split.test_fraction", "valid number, got the text '0.1'"),
    ("dedup", "yes", "dedup", "valid boolean, got the text 'yes' (YAML 1.2: only true and false are booleans)"),
    # YAML 1.1 read its words in any case (`Yes`, `YES`, `Off`): the same hint
    ("dedup", "Yes", "dedup", "valid boolean, got the text 'Yes' (YAML 1.2: only true and false are booleans)"),
    ("dedup", "OFF", "dedup", "valid boolean, got the text 'OFF' (YAML 1.2: only true and false are booleans)"),
    ("output.kto_export", "On", "output.kto_export", "valid boolean, got the text 'On' (YAML 1.2: only true and false are booleans)"),
    ("dedup", 1, "dedup", "valid boolean, got 1"),
    ("output.kto_export", "true", "output.kto_export", "valid boolean, got the text 'true'"),
    ("source.binarize.max_pairs", True, "sources[0].binarize.max_pairs", "valid integer, got true"),
    ("source.binarize.max_pairs", "5", "sources[0].binarize.max_pairs", "valid integer, got the text '5'"),
    ("source.binarize.max_pairs", "1_000", "sources[0].binarize.max_pairs", "(YAML 1.2: write 1000)"),
    ("source.binarize.min_margin", True, "sources[0].binarize.min_margin", "valid number, got true"),
    ("source.binarize.min_margin", float("inf"), "sources[0].binarize.min_margin", "finite number"),
    ("source.binarize.seed", True, "sources[0].binarize.seed", "valid integer, got true"),
    ("source.higher_is_better", "yes", "sources[0].higher_is_better", "valid boolean, got the text 'yes'"),
    ("source.higher_is_better", 0, "sources[0].higher_is_better", "valid boolean, got 0"),
    ("ranked.lower_rank_is_better", "no", "sources[0].lower_rank_is_better", "valid boolean"),
    ("feedback.max_pairs_per_prompt", True, "sources[0].max_pairs_per_prompt", "valid integer, got true"),
    ("feedback.max_pairs_per_prompt", "3", "sources[0].max_pairs_per_prompt", "valid integer, got the text '3'"),
    ("tree.skip_deleted", "off", "sources[0].skip_deleted", "valid boolean"),
    ("tree.lower_rank_is_better", 1, "sources[0].lower_rank_is_better", "valid boolean, got 1"),
    ("preference.scores_must_agree", "yes", "sources[0].scores_must_agree", "valid boolean"),
    ("pairwise.winner_threshold", {"a_below": True, "b_above": 2}, "sources[0].winner_threshold.a_below", "valid number, got true"),
    ("pairwise.winner_threshold", {"a_below": "0.3", "b_above": 0.7}, "sources[0].winner_threshold.a_below", "valid number"),
    ("pairwise.winner_threshold", {"a_below": 0.3, "b_above": float("nan")}, "sources[0].winner_threshold.b_above", "finite number"),
    ("dedup", np.bool_(False), "dedup", "valid boolean"),  # as build(dedup=np.False_) is refused
    ("split.seed", np.float64(3.0), "split.seed", "valid integer"),
]


@pytest.mark.parametrize(("where", "value", "field", "problem"), WRONG)
def test_a_wrongly_typed_scalar_is_an_error_naming_the_field(where: str, value: Any, field: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(where, value), origin="c.yaml")
    assert "invalid build config c.yaml" in str(err.value)
    assert f"  {field}: Input should be a " in str(err.value) and problem in str(err.value)


def test_values_of_the_right_type_still_read() -> None:
    """An integer is a number (`test_fraction: 0`, `min_margin: 1`); true and false are the booleans."""
    cfg = parse_config(
        {
            "sources": [{**RATED, "higher_is_better": False, "binarize": {"policy": "all_pairs", "min_margin": 1, "max_pairs": 3, "seed": 7}}],
            "split": {"test_fraction": 0, "seed": 2**64 - 1},
            "dedup": False,
            "output": {"kto_export": True},
        }
    )
    assert (cfg.split.test_fraction, cfg.split.seed, cfg.dedup, cfg.output.kto_export) == (0.0, 2**64 - 1, False, True)
    source = cfg.sources[0]
    assert (source.higher_is_better, source.binarize.min_margin, source.binarize.max_pairs) == (False, 1.0, 3)  # type: ignore[union-attr]


def test_a_config_dict_takes_numpy_numbers_as_the_api_does() -> None:
    """A config built in code from a pipeline's values (``build(config={...})``) holds numpy's numbers,
    which ``build(seed=np.int64(3))`` takes: each reads as the plain int or float."""
    cfg = parse_config(
        {
            "sources": [
                {**RATED, "binarize": {"policy": "all_pairs", "min_margin": np.float32(0.5), "max_pairs": np.int64(3), "seed": np.uint64(7)}},
                {**SOURCES["feedback"], "max_pairs_per_prompt": np.int32(4)},
            ],
            "split": {"test_fraction": np.float64(0.25), "seed": np.int64(3)},
        }
    )
    binarize = cfg.sources[0].binarize  # type: ignore[union-attr]
    values = (cfg.split.seed, binarize.max_pairs, binarize.seed, cfg.sources[1].max_pairs_per_prompt)  # type: ignore[union-attr]
    assert values == (3, 3, 7, 4) and all(type(v) is int for v in values)
    assert (cfg.split.test_fraction, binarize.min_margin) == (0.25, 0.5)
    with pytest.raises(ConfigError, match=r"split\.seed: a seed is a whole number from 0 to 2\*\*64 - 1 \(18446744073709551615\), got -1"):
        parse_config(_config("split.seed", np.int64(-1)))


def test_a_yaml_file_with_seed_true_is_refused_with_exit_2(tmp_path: Path) -> None:
    """The review's case: `seed: true` in YAML gave seed 1."""
    config = tmp_path / "c.yaml"
    config.write_text("sources: [{shape: preference, columns: {prompt: q}}]\nsplit: {seed: true, test_fraction: 0.1}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\n  split\.seed: Input should be a valid integer, got true"):
        load_config(config)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a.jsonl").write_text('{"q": "hi", "chosen": "a", "rejected": "b"}\n')
    res = CliRunner().invoke(cli, ["build", str(tmp_path / "raw"), str(tmp_path / "out"), "--config", str(config)])
    assert res.exit_code == 2 and "split.seed: Input should be a valid integer, got true" in res.stderr
    assert not (tmp_path / "out").exists()
