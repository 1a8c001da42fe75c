"""What reaches TRL: the canonical dataset, validated, then handed over in the one format TRL reads right.

TRL 1.x decides how to treat a dataset from its *first* example (``is_conversational``), extracts an
implicit prompt character-wise when none is given, chokes on ``None``-filled message fields and turns
``image``/``images`` columns into vision inputs. None of that fails loudly. So before any model
loads, every row of every split is checked here, in one lazy polars pass per split, and refused
with the split, file, count and first offending ids, and how to fix it:

- ``prompt``, ``chosen``, ``rejected`` are message lists (``list[struct{role, content}]``), exactly;
- no message has a null role or content, no list is empty;
- roles are known, the prompt ends with a user or tool turn, responses are assistant turns;
- no ``image`` / ``images`` column.

Loading goes through ``datasets`` (memory-mapped Arrow, as TRL expects) with only ``id`` and the three
message columns, so metadata never leaks into training, plus :data:`ROW`, each pair's place in its split:
TRL drops pairs silently and keeps extra columns through its preparation, so the drop report matches
the pairs before and after by that place (ids need not be unique, or set). It reaches the model no more
than ``id`` does: the trainer's ``remove_unused_columns`` drops both, and TRL's collators build their
batches from their own columns only.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from prefdata.build.output import parquet_schema, shards_by_split_and_loaded
from prefdata.coerce import lossless, text
from prefdata.io.discover import shown_name
from prefdata.io.morsels import parquet_footer
from prefdata.non_utf8_paths import is_utf8
from prefdata.schema import FORBIDDEN_COLUMNS, MESSAGES, PROMPT_LAST_ROLES, ROLES
from prefdata.splits import HELD_OUT_SPLITS, held_out_split, is_train_split
from prefdata.train.errors import DataError, RecipeError
from prefdata.train.recipe import strategy_name

MESSAGE_COLUMNS = ("prompt", "chosen", "rejected")
#: The column :func:`load_split` adds: a pair's place (0-based) in its split as loaded.
ROW = "__prefdata_row"
#: Rows read at a time when the drop report scans TRL's prepared dataset.
_SCAN_BATCH = 8192
#: How many offending ids an error message lists.
SHOW_IDS = 5


@dataclass(frozen=True)
class TrainingData:
    """A dataset directory as training sees it."""

    root: Path
    shards: dict[str, list[Path]]
    manifest: Path | None
    rows: dict[str, int] = field(default_factory=dict)
    #: Rows of each shard in ``shards``, from its footer (read once, when the dataset is opened).
    shard_rows: dict[Path, int] = field(default_factory=dict)
    #: Every shard of the dataset's pairs, the empty ones training leaves out included: what is held
    #: to ``manifest.json`` (a build in several partitions writes empty shards when data is small).
    on_disk: tuple[Path, ...] = ()

    @property
    def held_out(self) -> str | None:
        """The split DPO evaluates on (:func:`prefdata.splits.held_out_split`): ``test``, else ``validation``,
        counting only a split with pairs in it (``build`` writes a 0-row shard for an empty split)."""
        return held_out_split(split for split, n in self.rows.items() if n > 0)

    def not_evaluated(self) -> list[str]:
        """The other splits with pairs that are not training data (``check`` measures leakage into them),
        as ``"name pairs"``: DPO evaluates on one split only, so the output says which it leaves out."""
        held_out = self.held_out
        return [f"{s} {n}" for s, n in self.rows.items() if n > 0 and s != held_out and not is_train_split(s)]

    def no_held_out(self) -> str:
        """Why there is no evaluation split, naming the splits there are (pairs in them)."""
        none = " and ".join(f"no {split} pairs" for split in HELD_OUT_SPLITS)
        return f"{self.root} has {none} (splits: {', '.join(f'{s} {n}' for s, n in self.rows.items())})"


def open_training_data(path: str | Path) -> TrainingData:
    """Find the shards of ``path`` (``data/<split>-*.parquet``); requires a train split."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{path}: no such directory; pass the OUT directory written by `prefdata build`")
    if not is_utf8(os.path.abspath(root)):  # check and report read such a folder; datasets and the trainers do not
        raise DataError(
            f"{shown_name(str(root))}: the path is not UTF-8 (shown with \\x escapes), and `datasets` reads Parquet only from "
            "UTF-8 paths: rename the folder, or link to it from a UTF-8 name (ln -s) and pass that"
        )
    shards, loaded = shards_by_split_and_loaded(root)
    on_disk = tuple(f for fs in shards.values() for f in fs)
    if not shards:
        raise DataError(f"{path}: no data/*.parquet shards; is this the OUT directory of `prefdata build`?")
    # a shard of no rows holds nothing to train on, and one pandas wrote (columns typed null) would make
    # the loader fail to combine the split's schemas: leave such shards out
    counts = {f: _row_count(root, f) for fs in shards.values() for f in fs}
    # train on what datasets.load_dataset(OUT) gives: pairs in a shard the loader leaves out are not
    # trained on (an empty shard stays: the manifest lists it, and it adds nothing)
    shards = {split: kept for split, fs in shards.items() if (kept := [f for f in fs if f in loaded or not counts[f]])}
    if "train" not in shards:
        raise DataError(_no_train_split(path, sorted(shards)))
    rows = {split: sum(counts[f] for f in fs) for split, fs in shards.items()}
    shards = {split: [f for f in fs if counts[f]] or fs[:1] for split, fs in shards.items()}
    if rows["train"] == 0:
        raise DataError(
            f"{path}: the train split has no pairs (its shards hold 0 rows; splits: {rows}); "
            "rebuild with a smaller --test-fraction or with more data"
        )
    manifest = root / "manifest.json"
    kept = {f: counts[f] for fs in shards.values() for f in fs}
    return TrainingData(root=root, shards=shards, manifest=manifest if manifest.is_file() else None, rows=rows, shard_rows=kept, on_disk=on_disk)


def _no_train_split(path: str | Path, splits: list[str]) -> str:
    """Why training refuses a dataset whose splits are named otherwise (``train_prefs``/``test_prefs``, as
    on the Hub), with the dataset card header that maps them, which ``load_dataset`` and prefdata follow."""
    train, test = _guess_pair(splits)
    card = "\n".join([
        "  ---", "  configs:", "  - config_name: default", "    data_files:",
        f"    - {{split: train, path: data/{train or '<training split>'}-*}}",
        *([f"    - {{split: test, path: data/{test}-*}}"] if test else []), "  ---",
    ])
    return (f"{path}: no train split (data/train-*.parquet); found splits {splits}. Training reads the splits named "
            f"train and test (or validation, where there is no test): name the shards so, or map them in the dataset card {Path(path) / 'README.md'} "
            f"(datasets.load_dataset reads the same map):\n{card}")


def _guess_pair(splits: list[str]) -> tuple[str | None, str | None]:
    """The training split and its evaluation split, for the suggested card: preference splits first
    (UltraFeedback has train/test × prefs/sft/gen), and the evaluation split with the same suffix."""
    trains = sorted((s for s in splits if is_train_split(s)), key=lambda s: ("pref" not in s, s))
    train = trains[0] if trains else None
    others = [s for s in splits if not is_train_split(s)]
    suffix = re.sub(r"^(train|training)", "", train) if train else ""
    test = next((s for s in others if suffix and s.endswith(suffix)), None) or next(iter(sorted(others, key=lambda s: ("pref" not in s, s))), None)
    return train, test


def _row_count(root: Path, shard: Path) -> int:
    """Rows of one shard, from its footer; an unreadable shard is an error naming it."""
    try:
        return parquet_footer(shard).rows
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{shard.relative_to(root)}: cannot read Parquet ({exc})") from None


def check_eval_split(data: TrainingData, eval_strategy: Any, *, source: str = "trl.eval_strategy") -> None:
    """Refuse a recipe that evaluates during training (``trl.eval_strategy`` other than ``no``) on a dataset
    without held-out pairs: transformers would only notice once the model is loaded (no ``eval_dataset``).

    >>> check_eval_split(TrainingData(Path("out"), {}, None, {"train": 3}), "no")   # nothing to evaluate, fine
    """
    strategy = strategy_name(eval_strategy)
    if strategy in ("no", "None", "False") or data.held_out is not None:
        return
    raise RecipeError(
        f"{source}: {strategy!r} evaluates on the held-out split during training, but {data.no_held_out()}; "
        "remove trl.eval_strategy, or rebuild the dataset with a test split"
    )


def _rel(data: TrainingData, files: list[Path]) -> str:
    names = [str(f.relative_to(data.root)) for f in files]
    return names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} more)"


def _check_schema(data: TrainingData, shard: Path) -> pl.Schema:
    """One shard's schema, refused (``DataError`` naming the shard) where TRL would misread it. Shards
    are checked one by one: a split may store its messages differently from shard to shard (one with
    dictionary-encoded roles, one without), which the loader reads alike but one polars scan refuses."""
    try:
        schema = parquet_schema(shard)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{_rel(data, [shard])}: cannot read Parquet ({exc})") from None
    where = _rel(data, [shard])
    forbidden = [c for c in FORBIDDEN_COLUMNS if c in schema]
    if forbidden:
        raise DataError(
            f"{where}: column(s) {forbidden} present. TRL treats a dataset with an image/images column as "
            "vision data and fails on a text model; drop or rename the column"
        )
    for column in MESSAGE_COLUMNS:
        if column not in schema:
            raise DataError(
                f"{where}: missing column `{column}`. Training needs explicit prompt/chosen/rejected message "
                "lists (TRL's implicit-prompt extraction mis-splits pairs); build the dataset with `prefdata build`"
            )
        dtype = schema[column]
        if dtype == MESSAGES or lossless(dtype, MESSAGES):
            continue  # the same messages stored another way (field order, dictionary-encoded roles): the loader reads them alike
        if dtype == pl.Null and data.shard_rows[shard] == 0:
            continue  # an empty shard written by pandas types its columns null; it holds nothing to misread
        if dtype == pl.String:
            raise DataError(
                f"{where}: `{column}` holds plain strings, not message lists. TRL picks the format from one "
                "example, so prefdata only trains on the conversational format; `prefdata build` wraps plain "
                "text as a user/assistant turn"
            )
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            names = [f.name for f in dtype.inner.fields]
            extra = sorted(set(names) - {"role", "content"})
            if extra:
                raise DataError(
                    f"{where}: messages in `{column}` carry extra fields {extra}. Arrow fills them with None in "
                    "messages that lack them, and chat templates then render or choke on the None; keep only "
                    "role and content"
                )
        raise DataError(f"{where}: `{column}` has type {dtype}, expected {MESSAGES} (a list of {{role, content}})")
    return schema


def _row_problems() -> list[tuple[str, pl.Expr]]:
    """(description, per-row boolean expression that is True where the row is bad)."""

    def any_message(column: str, predicate: pl.Expr) -> pl.Expr:
        return pl.col(column).list.eval(predicate).list.any().fill_null(False)

    role, content = pl.element().struct.field("role"), pl.element().struct.field("content")
    problems: list[tuple[str, pl.Expr]] = []
    for column in MESSAGE_COLUMNS:
        problems.append((f"`{column}` is null or empty", pl.col(column).is_null() | (pl.col(column).list.len() == 0)))
        problems.append(
            (
                f"a message in `{column}` has a null role or content",
                any_message(column, role.is_null() | content.is_null()),
            )
        )
        problems.append(
            (
                f"a message in `{column}` has an unknown role (allowed: {list(ROLES)})",
                any_message(column, ~role.is_in(ROLES)),
            )
        )
    problems.append(
        (
            f"the prompt does not end with a {' or '.join(PROMPT_LAST_ROLES)} turn",
            ~pl.col("prompt").list.last().struct.field("role").is_in(PROMPT_LAST_ROLES).fill_null(False),
        )
    )
    for column in ("chosen", "rejected"):
        problems.append((f"`{column}` has a non-assistant message", any_message(column, role != "assistant")))
    return problems


def validate_for_trl(data: TrainingData) -> None:
    """Refuse (``DataError``) any split whose rows TRL would misread; see the module docstring."""
    problems = _row_problems()
    for split in data.shards:
        schemas = {shard: _check_schema(data, shard) for shard in data.shards[split]}
        _check_ids_agree(data, split, schemas)
        parts = []
        for shard, schema in schemas.items():
            if data.shard_rows[shard] == 0:
                continue  # no row to misread (and an empty pandas shard has columns typed null)
            name = _rel(data, [shard])
            # the id as text where it has one, else the row's place (as check names pairs without a usable id)
            place = pl.format(f"row {{}} of {name}", pl.col("_row"))
            as_text = text(pl.col("id"), schema["id"]) if "id" in schema else None
            ident = place if as_text is None else pl.coalesce(as_text, place)
            parts.append(
                pl.scan_parquet(shard, glob=False)
                .with_row_index("_row")
                .select(ident.alias("_ident"), *[expr.alias(f"_p{i}") for i, (_, expr) in enumerate(problems)])
                .filter(pl.any_horizontal(pl.col(f"_p{i}") for i in range(len(problems))))
                .collect()
            )
        flagged = pl.concat(parts) if parts else pl.DataFrame()
        if flagged.height == 0:
            continue
        lines = []
        for i, (description, _) in enumerate(problems):
            bad = flagged.filter(pl.col(f"_p{i}"))["_ident"]
            if len(bad):
                lines.append(f"{len(bad)} row(s): {description} (first: {', '.join(bad.head(SHOW_IDS).to_list())})")
        raise DataError(
            f"{_rel(data, data.shards[split])} ({split} split) is not safe to hand to TRL:\n  "
            + "\n  ".join(lines)
            + "\nFix or drop these rows (`prefdata build` rejects them with a reason), then train again"
        )


def _check_ids_agree(data: TrainingData, split: str, schemas: dict[Path, pl.Schema]) -> None:
    """Refuse a split whose shards disagree on ``id`` (one has it and another not, or they type it differently):
    the loader reads one set of columns of one type for the whole split, and fails on the others with a traceback.

    Empty shards are left out (a pandas-written one types its columns null, and holds no id to read).
    """
    kinds: dict[str, list[Path]] = {}
    for shard, schema in schemas.items():
        if data.shard_rows[shard]:
            kind = f"`id` of type {_id_kind(schema['id'])}" if "id" in schema else "no `id` column"
            kinds.setdefault(kind, []).append(shard)
    if len(kinds) > 1:
        groups = "; ".join(f"{_rel(data, shards)}: {kind}" for kind, shards in kinds.items())
        raise DataError(
            f"the {split} split's shards disagree on `id` ({groups}). Training reads one `id` column, of one type, "
            "for the whole split: give every shard the same `id` column, or drop it from all of them (pairs are then "
            "named by a hash of their messages, as `prefdata build` names them)"
        )


def _id_kind(dtype: pl.DataType) -> str:
    """What the loader makes of an ``id`` column's type: text however it is stored (plain, large, or
    dictionary-encoded, which polars reads as Categorical: pandas ``category``, pyarrow
    ``dictionary_encode``), any other type as itself."""
    return "text" if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) else str(dtype)


def load_split(data: TrainingData, split: str, *, limit: int | None = None):
    """The split as a ``datasets.Dataset`` with columns ``id``, ``prompt``, ``chosen``, ``rejected`` and :data:`ROW` only.

    The shards agree on ``id`` (:func:`validate_for_trl` refuses a split whose shards do not), so the first
    shard's schema says whether the split has one.
    """
    from datasets import Dataset

    # datasets reads data_files as fsspec globs: escaped, a folder named `[v1]` is found and one named `ds*` reads only itself
    files = [glob.escape(str(f)) for f in data.shards[split]]
    schema = pl.scan_parquet(data.shards[split], glob=False).collect_schema()
    columns = [c for c in ("id", *MESSAGE_COLUMNS) if c in schema]
    ds = Dataset.from_parquet(files, columns=columns)
    if "id" not in columns:
        from prefdata.schema import pair_id

        ds = ds.map(lambda ex: {"id": pair_id(ex["prompt"], ex["chosen"], ex["rejected"])})
    if limit is not None and len(ds) > limit:
        ds = ds.select(range(limit))
    return ds.add_column(ROW, np.arange(len(ds), dtype=np.int64))


def to_prompt_completion(ds):
    """SFT view of a preference split: ``prompt`` -> ``completion`` (the chosen turns); TRL masks the prompt's loss.

    >>> from datasets import Dataset
    >>> row = {"id": "x", "prompt": [{"role": "user", "content": "2+2?"}],
    ...        "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}
    >>> to_prompt_completion(Dataset.from_list([row]))[0]["completion"]
    [{'role': 'assistant', 'content': '4'}]
    """
    return ds.rename_column("chosen", "completion").remove_columns("rejected")


@dataclass
class DropReport:
    """Pairs TRL's preparation removes (it drops them silently), found by their place in the split (:data:`ROW`)."""

    split: str
    max_length: int | None
    pairs_in: int
    #: The dropped pairs' ids as text; a pair without one as ``<row N of SHARD, no id>`` (0-based, as check names it).
    dropped_ids: list[str]
    truncated: int | None = None  # pairs kept but cut at max_length

    @property
    def dropped(self) -> int:
        return len(self.dropped_ids)

    @property
    def pairs_kept(self) -> int:
        return self.pairs_in - self.dropped

    def require_pairs_left(self) -> None:
        """Raise :class:`DataError` when TRL dropped every pair: training would start on nothing."""
        if self.pairs_kept == 0:
            raise DataError(
                f"every {self.split} pair's prompt reaches max_length={self.max_length}, so nothing is left to train on; "
                "raise trl.max_length (--max-length) or shorten the prompts"
            )

    def describe(self) -> str:
        text = (
            f"{self.split}: {self.pairs_in} pairs, {self.dropped} dropped by TRL because the prompt alone reaches "
            f"max_length={self.max_length}"
        )
        if self.dropped:
            text += f" (first ids: {', '.join(self.dropped_ids[:SHOW_IDS])})"
        if self.truncated is not None:
            text += f"; {self.truncated} kept but truncated at max_length"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "max_length": self.max_length,
            "pairs_in": self.pairs_in,
            "pairs_kept": self.pairs_kept,
            "dropped": self.dropped,
            "dropped_ids": self.dropped_ids[:1000],
            "truncated": self.truncated,
        }


def drop_report(split: str, before, after, max_length: int | None, *, tokenizer=None, chat_template=None,
                place: Callable[[int], str] | None = None) -> DropReport:
    """Compare a split before and after TRL's ``_prepare_dataset``: ``before`` is :func:`load_split`'s (SFT: through
    :func:`to_prompt_completion`), ``after`` the trainer's dataset, which still carries :data:`ROW`.

    ``truncated`` counts the kept pairs cut at ``max_length``. DPO's prepared rows hold the untruncated token ids
    (its collator cuts them). SFT's are cut already, so a row of exactly ``max_length`` tokens may or may not have
    been longer: only those rows are rendered again, with ``tokenizer`` and the ``chat_template`` TRL rendered with
    (``SFTTrainer.chat_template``, None for the tokenizer's own), to tell which. ``place`` names a pair
    without an id by its row (:func:`row_place`: ``row 3 of data/train-00001-of-00002.parquet``, as the
    check and :func:`validate_for_trl` name it); without it, by its place in the split.
    """
    kept = np.zeros(len(before), dtype=bool)
    at_limit: list[np.ndarray] = []  # SFT: rows of exactly max_length tokens after TRL's cut
    dpo = "chosen_ids" in after.column_names
    sft = max_length is not None and tokenizer is not None and "input_ids" in after.column_names
    truncated = 0 if dpo and max_length is not None else None
    columns = [ROW, *(["prompt_ids", "chosen_ids", "rejected_ids"] if dpo else ["input_ids"] if sft else [])]
    for batch in after.select_columns(columns).with_format("arrow").iter(batch_size=_SCAN_BATCH):
        rows = batch.column(ROW).to_numpy()
        kept[rows] = True
        if truncated is not None:
            length = _lengths(batch, "prompt_ids") + np.maximum(_lengths(batch, "chosen_ids"), _lengths(batch, "rejected_ids"))
            truncated += int((length > max_length).sum())
        elif sft:
            at_limit.append(rows[_lengths(batch, "input_ids") == max_length])
    if sft:
        truncated = _longer_than(before, np.concatenate([np.empty(0, np.int64), *at_limit]), max_length, tokenizer, chat_template)
    return DropReport(
        split=split, max_length=max_length, pairs_in=len(before), dropped_ids=_shown_ids(before, np.flatnonzero(~kept), place),
        truncated=truncated,
    )


def _lengths(batch: pa.Table, column: str) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.list_value_length(batch.column(column)).to_numpy(zero_copy_only=False)


def _shown_ids(before, rows: np.ndarray, place: Callable[[int], str] | None) -> list[str]:
    """The ids of ``before``'s ``rows`` as text, and ``<row 3 of data/train-….parquet, no id>`` for a null one
    (ids may be of any type)."""
    if not len(rows):
        return []
    ids = before.select(rows.tolist()).with_format("arrow")["id"].to_pylist()
    where = place or (lambda row: f"row {row}")
    return [f"<{where(row)}, no id>" if i is None else str(i) for row, i in zip(rows.tolist(), ids, strict=True)]


def row_place(data: TrainingData, split: str) -> Callable[[int], str]:
    """A pair's name by its row in its shard, from its 0-based place in :func:`load_split`'s split (which
    reads the split's shards in order, whole)."""
    shards = data.shards[split]
    ends = np.cumsum([data.shard_rows[shard] for shard in shards])

    def place(row: int) -> str:
        at = int(np.searchsorted(ends, row, side="right"))
        return f"row {row - (int(ends[at - 1]) if at else 0)} of {_rel(data, [shards[at]])}"

    return place


def _longer_than(before, rows: np.ndarray, max_length: int, tokenizer, chat_template) -> int:
    """How many of ``before``'s prompt-completion ``rows`` render to more than ``max_length`` tokens, as TRL's SFT
    renders them (``apply_chat_template`` of prompt + completion, in batches)."""
    longer = 0
    for start in range(0, len(rows), 256):
        chunk = before.select(rows[start : start + 256].tolist())
        conversations = [p + c for p, c in zip(chunk["prompt"], chunk["completion"], strict=True)]
        ids = tokenizer.apply_chat_template(conversations, tokenize=True, return_dict=True, chat_template=chat_template)["input_ids"]
        longer += sum(len(i) > max_length for i in ids)
    return longer
