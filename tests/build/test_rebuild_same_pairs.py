"""Rebuilding an earlier output (``prefdata build ds ds --test-fraction 0.2``, README's re-split) gives
the same pairs, only split anew, whatever shape and settings built them.

The rebuild reads ``ds/data`` as preference data. Detection used to apply the default
``scores_must_agree`` to it: every pair of a rated source with ``higher_is_better: false`` (the chosen
side scores lower) became ``scores_disagree``, every pair kept with ``scores_must_agree: false`` a
``tie`` or ``scores_disagree``, and ``ds`` was replaced by an empty dataset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import OutputError
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, pairs
from tests.support.scored_raw import write_scored

#: The columns a rebuild keeps as they were (``source``, ``lineage`` name the shards now, and
#: ``chosen_position`` is not kept: README).
KEPT = ["id", "prompt", "chosen", "rejected", "score_chosen", "score_rejected", "chosen_model", "rejected_model"]


def _scored(tmp_path: Path, shape: str) -> tuple[Path, dict]:
    """Pairs whose scores tie or run against the label, kept with ``scores_must_agree: false``."""
    raw, columns = write_scored(tmp_path, shape)
    return raw, {"sources": [{"shape": shape, "columns": columns, "scores_must_agree": False}]}


def _case(name: str) -> tuple[Path, dict]:
    spec = yaml.safe_load((FIXTURES / "cases" / f"{name}.yaml").read_text())
    return FIXTURES / "raw" / spec["raw"], spec["config"]


BUILDS = {
    "every-shape-fixtures": lambda tmp: (FIXTURES / "raw", FIXTURES / "configs" / "fixtures.yaml"),
    "rated-lower-is-better": lambda tmp: _case("rated_lower_is_better"),
    "ranked-higher-is-better": lambda tmp: _case("ranked_higher_is_better"),
    "rated-all-pairs-margin": lambda tmp: _case("rated_all_pairs_margin"),
    "rated-best-vs-random": lambda tmp: _case("rated_best_vs_random"),
    "feedback-pair-cap": lambda tmp: _case("feedback_pair_cap"),
    "filters-and-roles": lambda tmp: _case("filters_and_roles"),
    "preference-scores-need-not-agree": lambda tmp: _scored(tmp, "preference"),
    "transcript-scores-need-not-agree": lambda tmp: _scored(tmp, "transcript"),
}


@pytest.mark.parametrize("name", BUILDS)
def test_a_resplit_in_place_keeps_every_pair(tmp_path: Path, name: str) -> None:
    raw, config = BUILDS[name](tmp_path)
    ds = tmp_path / "ds"
    first = prefdata.build(raw, ds, config=config)
    before = pairs(ds).select(KEPT).sort("id")
    assert before.height > 0
    again = prefdata.build(ds, ds, test_fraction=0.2)
    assert again.counts["records_rejected"] == 0, again.counts["rejected_by_reason"]
    assert pairs(ds).select(KEPT).sort("id").equals(before)
    assert sum(again.counts["pairs_by_split"].values()) == sum(first.counts["pairs_by_split"].values())
    assert_reconciled(ds)


def test_the_printed_config_of_a_rebuild_says_the_scores_are_not_judged_again(tmp_path: Path) -> None:
    """The config printed (and inspected) for an earlier output's shards says scores_must_agree:
    false, and passed back with --config it gives the same pairs."""
    raw, config = _case("rated_lower_is_better")
    prefdata.build(raw, tmp_path / "ds", config=config)
    shown = prefdata.inspect(tmp_path / "ds").files[0].config_yaml
    assert "scores_must_agree: false" in shown and "shape: preference" in shown
    again = prefdata.build(tmp_path / "ds", tmp_path / "copy")
    assert "scores_must_agree: false" in again.config_yaml
    prefdata.build(tmp_path / "ds", tmp_path / "copy2", config=yaml.safe_load(again.config_yaml))
    assert pairs(tmp_path / "copy2").select(KEPT).sort("id").equals(pairs(tmp_path / "copy").select(KEPT).sort("id"))


def test_a_rebuild_in_place_that_would_write_no_pair_leaves_the_dataset_as_it_was(tmp_path: Path) -> None:
    """Judged by a config whose score rule the pairs fail, every pair is a reject: in place, that would
    have replaced the only copy of the pairs by an empty dataset. It is refused (exit 2), ds untouched."""
    raw, config = _case("rated_lower_is_better")
    ds = tmp_path / "ds"
    prefdata.build(raw, ds, config=config)
    files = {p.relative_to(ds): p.read_bytes() for p in sorted(ds.rglob("*")) if p.is_file()}
    strict = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "score_chosen": "score_chosen", "score_rejected": "score_rejected"}}]}
    with pytest.raises(OutputError, match="would write none of its .* pairs .*scores_disagree.* left as it was"):
        prefdata.build(ds, ds, config=strict, test_fraction=0.2)
    (tmp_path / "strict.yaml").write_text(yaml.safe_dump(strict))
    result = CliRunner().invoke(cli, ["build", str(ds), str(ds), "--config", str(tmp_path / "strict.yaml")])
    assert result.exit_code == 2, result.output
    assert {p.relative_to(ds): p.read_bytes() for p in sorted(ds.rglob("*")) if p.is_file()} == files
    assert not list(tmp_path.glob(".ds*"))  # no temp folder left beside it
    prefdata.build(ds, tmp_path / "elsewhere", config=strict)  # into another folder: built, to show the rejects
    assert pairs(tmp_path / "elsewhere").height == 0
