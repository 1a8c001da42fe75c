"""Find what a dataset directory holds: shards per split, manifest, rejects and check results.

The report reads only what earlier stages wrote to disk (docs/contracts.md). A dataset someone else
built is accepted with just ``data/*.parquet``; everything else is optional and the report says
what it could not show and why, rather than guessing.

Shards are read the way ``prefdata check`` reads them (:mod:`prefdata.report.normalize`): columns by
name, in any order, cast to the canonical types, optional columns filled with nulls where a shard
lacks them. Hidden files (``.*``) are not shards, as for the Hugging Face loader. Only unreadable pairs stop the report
(:class:`DatasetError`, exit 2); an unusable manifest, rejects shard or metadata column is a note.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from prefdata.build.output import parquet_schema, shards_by_split, visible_parquet
from prefdata.non_utf8_paths import scan_parquet
from prefdata.non_utf8_paths import source as parquet_source
from prefdata.report.errors import ChecksFileError, DatasetError
from prefdata.report.manifest import ManifestProblem, read_json_object, read_manifest
from prefdata.report.normalize import REQUIRED_COLUMNS, ShardPlan, conform, plan_shard
from prefdata.schema import CANONICAL_SCHEMA, REJECT_SCHEMA, id_expr
from prefdata.shard_fingerprint import fingerprints

__all__ = ["REQUIRED_COLUMNS", "Dataset", "open_dataset", "validate_checks"]

#: Where a pairwise source records which displayed position won ("a"/"b"); null for other shapes.
#: Canonical (prefdata/schema.py), but optional here so that datasets built elsewhere still report.
POSITION_COLUMNS = ("chosen_position",)
SEVERITIES = ("error", "warn", "info")
#: Errors polars and the OS raise when a file that looked fine turns out unreadable mid-scan.
READ_ERRORS = (pl.exceptions.ComputeError, OSError)
#: The row number in :meth:`Dataset.read_rows`, named so as not to meet a shard's columns.
ROW_INDEX = "__prefdata_row"
#: Rows decoded at a time by :meth:`Dataset.read_rows`: memory holds one such batch of texts, not a row group.
BATCH_ROWS = 8192
#: Bytes read from a shard at a time by :meth:`Dataset.read_rows`.
READ_BUFFER = 1 << 20


@dataclass(frozen=True)
class Dataset:
    """A dataset directory as the report sees it (all paths absolute).

    ``schema`` is the canonical columns that at least one shard provides, with their canonical
    types: :meth:`scan` reads every shard as exactly that (see :mod:`prefdata.report.normalize`).
    ``rejects`` lists the rejects shards that can be read. ``row_groups`` holds the rows of each
    Parquet row group of each shard, from its footer.
    """

    root: Path
    shards: dict[str, list[Path]]
    schema: pl.Schema
    manifest: dict[str, Any] | None
    rejects: list[Path]
    checks: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    #: Why manifest.json was ignored (None when it is fine or absent); the card is then left as it is.
    manifest_problem: str | None = None
    readers: dict[Path, dict[str, pl.Expr]] = field(default_factory=dict, repr=False, compare=False)
    row_groups: dict[Path, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    reject_readers: dict[Path, dict[str, pl.Expr]] = field(default_factory=dict, repr=False, compare=False)
    #: a checks.json was there but describes other data (``checks`` is then None)
    checks_stale: bool = False

    @property
    def splits(self) -> list[str]:
        return list(self.shards)

    @property
    def position_column(self) -> str | None:
        return next((c for c in POSITION_COLUMNS if c in self.schema), None)

    def scan(self, columns: list[str] | None = None) -> pl.LazyFrame:
        """All shards as one LazyFrame with a ``split`` column, in split order then file order."""
        names = self._names(columns)
        frames = [self._scan_shard(f, names).with_columns(pl.lit(split).alias("split"))
                  for split, files in self.shards.items() for f in files]
        return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]

    def shard_name(self, path: Path) -> str:
        """A shard as checks.json names it, relative to the dataset: ``data/train-00000-of-00001.parquet``."""
        return path.relative_to(self.root).as_posix()

    def shard_rows(self) -> list[tuple[Path, int]]:
        """Every shard with its number of rows (from the Parquet footer), in :meth:`scan` order."""
        return [(f, sum(self.row_groups[f])) for files in self.shards.values() for f in files]

    def scan_shard(self, path: Path, columns: list[str] | None = None) -> pl.LazyFrame:
        """One shard as :meth:`scan` reads it, with its ``split``."""
        return self._scan_shard(path, self._names(columns)).with_columns(pl.lit(self._split_of(path)).alias("split"))

    def read_rows(self, path: Path, rows: list[int], columns: list[str] | None = None) -> pl.DataFrame:
        """The rows ``rows`` (0-based within the shard) of one shard as :meth:`scan` reads them, with
        ``split`` and their row number ``_r``, in row order.

        Each Parquet row group that holds any of them is decoded once for all of them, a batch of
        :data:`BATCH_ROWS` rows at a time, keeping only the wanted rows of each batch: reading a single
        row decompresses its whole row group anyway, so a report that shows many pairs costs at most
        one read of the data, and memory holds one batch of texts rather than a row group.
        """
        names, wanted = self._names(columns), sorted(set(rows))
        split = pl.lit(self._split_of(path)).alias("split")
        groups, start = [], 0
        for group, length in enumerate(self.row_groups[path]):
            local = [r - start for r in wanted[bisect.bisect_left(wanted, start):bisect.bisect_left(wanted, start + length)]]
            if local:
                groups.append((group, start, length, local))
            start += length
        if not groups:  # no such rows: an empty frame of the same columns
            return self._scan_shard(path, names, (0, 0, [])).with_columns(split).collect()
        taken = self._take(path, groups)
        if taken is not None:
            return self.collect(self._canonical(taken.lazy(), path, names, with_row=True).with_columns(split), "fetching pairs to show")
        # pyarrow reads some column as another type than polars does: read each row group whole with polars
        frames = [self.collect(self._scan_shard(path, names, (s, n, local)).with_columns(split), "fetching pairs to show")
                  for _, s, n, local in groups]
        return pl.concat(frames, how="vertical")

    def _take(self, path: Path, groups: list[tuple[int, int, int, list[int]]]) -> pl.DataFrame | None:
        """The raw columns the readers of ``path`` use, at the rows of ``groups`` (row group, its first
        row, its rows, the wanted rows within it), with their row number in :data:`ROW_INDEX`; None
        when pyarrow decodes a column as another type than the polars type the readers were planned for."""
        schema = parquet_schema(path)
        used = {c for expr in self.readers[path].values() for c in expr.meta.root_names()}
        raw = [c for c in schema if c in used]
        batches, at = [], []
        try:
            # pages read through a small buffer, not whole column chunks at once: memory holds a batch, not a row group
            with parquet_source(path) as src, pq.ParquetFile(src, pre_buffer=False, buffer_size=READ_BUFFER) as parquet:
                for group, start, _, local in groups:
                    offset = 0
                    for batch in parquet.iter_batches(BATCH_ROWS, row_groups=[group], columns=raw, use_threads=False):
                        lo, hi = bisect.bisect_left(local, offset), bisect.bisect_left(local, offset + batch.num_rows)
                        if lo < hi:
                            batches.append(batch.take(pa.array([r - offset for r in local[lo:hi]])))
                            at.extend(start + r for r in local[lo:hi])
                        offset += batch.num_rows
        except pa.ArrowNotImplementedError:
            return None  # a type pyarrow cannot take rows of (string_view): the polars read handles it
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self.root / 'data'}: a shard could not be read while fetching pairs to show ({exc})") from exc
        frame = pl.from_arrow(pa.Table.from_batches(batches))
        assert isinstance(frame, pl.DataFrame)
        if frame.schema != pl.Schema({c: schema[c] for c in raw}):
            return None
        return frame.with_columns(pl.Series(ROW_INDEX, at, dtype=pl.get_index_type()))

    def _names(self, columns: list[str] | None) -> list[str]:
        return [c for c in (columns if columns is not None else self.schema.names()) if c in self.schema]

    def _split_of(self, path: Path) -> str:
        return next(s for s, files in self.shards.items() if path in files)

    def _scan_shard(self, path: Path, names: list[str], rows: tuple[int, int, list[int]] | None = None) -> pl.LazyFrame:
        """One shard in the canonical schema (:meth:`_canonical`).

        ``rows`` (start, length, rows within that range) keeps only those rows, with their row number
        ``_r`` in the shard: the scan is sliced to the range before the readers (polars does not push a
        slice through them, and a filter on a row index of the whole shard would decode every row group),
        and the rows are taken before the readers too, so that these run on the kept rows alone.
        """
        lf = scan_parquet(path)
        if rows is not None:
            start, length, local = rows
            index, at = pl.get_index_type(), pl.col(ROW_INDEX)
            lf = (lf.slice(start, length).with_row_index(ROW_INDEX).filter(at.is_in(pl.Series(local, dtype=index).implode()))
                  .with_columns(at + pl.lit(start, dtype=index)))
        return self._canonical(lf, path, names, with_row=rows is not None)

    def _canonical(self, lf: pl.LazyFrame, path: Path, names: list[str], *, with_row: bool = False) -> pl.LazyFrame:
        """``lf`` (columns of shard ``path`` as stored) in the canonical schema: missing columns as nulls,
        a missing ``id`` computed the canonical way; ``with_row`` keeps :data:`ROW_INDEX` as ``_r``."""
        reader = self.readers[path]
        compute_id = "id" not in reader
        exprs = {c: reader.get(c, pl.lit(None, dtype=t)) for c, t in self.schema.items() if not (c == "id" and compute_id)}
        if with_row:
            exprs["_r"] = pl.col(ROW_INDEX)
            names = [*names, "_r"]
        lf = lf.select(**exprs)
        if compute_id:  # as check does, so that offending ids in checks.json name these pairs too
            lf = lf.with_columns(id_expr())
        return lf.select(names)

    def scan_rejects(self) -> pl.LazyFrame | None:
        """The readable rejects shards as one LazyFrame in REJECT_SCHEMA, or None when there is none."""
        frames = [scan_parquet(f).select(**self.reject_readers[f]) for f in self.rejects]
        return pl.concat(frames, how="vertical") if frames else None

    def collect(self, lf: pl.LazyFrame, doing: str) -> pl.DataFrame:
        """Collect ``lf`` (streaming); a shard that breaks mid-scan is an input error, not a traceback."""
        try:
            return lf.collect(engine="streaming")
        except READ_ERRORS as exc:
            raise DatasetError(f"{self.root / 'data'}: a shard could not be read while {doing} ({exc})") from exc


def split_order(split: str) -> tuple[int, str]:
    """train, validation, test first (as the Hub lists them), then any other split by name."""
    return ({"train": 0, "validation": 1, "test": 2}.get(split, 3), split)


def open_dataset(path: str | Path, *, checks: dict[str, Any] | None = None) -> Dataset:
    """Inspect ``path`` and return what it holds; raises :class:`DatasetError` if it has no canonical data.

    ``checks`` (a ``checks.json`` document already in memory, e.g. from ``prefdata.check``) takes the
    place of ``OUT/checks.json``.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "no such directory"
        raise DatasetError(f"{path}: {what} (expected a dataset written by `prefdata build`)")
    shards = shards_by_split(root)
    if not shards:
        hidden = len(list((root / "data").glob("*.parquet")))
        ignored = f" ({hidden} hidden file(s) named .* ignored)" if hidden else ""
        raise DatasetError(f"{path}: no data/*.parquet shards{ignored}; is this the OUT directory of `prefdata build`?")
    shards = {s: shards[s] for s in sorted(shards, key=split_order)}

    notes: list[str] = []
    schema, readers, row_groups = _plan_shards(root, shards, notes)
    manifest, manifest_problem = _manifest(root, notes)
    rejects, reject_readers = _plan_rejects(root, notes)

    stale = None
    if checks is None:
        checks_path = root / "checks.json"
        checks = read_json_object(checks_path, ChecksFileError, prefix=f"{checks_path}: ")
    if checks is not None:
        validate_checks(checks)
        files = {f.relative_to(root).as_posix(): f for fs in shards.values() for f in fs}
        stale = checks_for_other_data(checks, files, sum(sum(groups) for groups in row_groups.values()))
        if stale is not None:
            notes.append(f"checks.json {stale}: its results belong to another version of this dataset and are not "
                         "shown. Run `prefdata check` again (or `prefdata report --run-checks`).")
            checks = None
    return Dataset(root=root, shards=shards, schema=schema, manifest=manifest, rejects=rejects, checks=checks,
                   notes=notes, manifest_problem=manifest_problem, readers=readers, row_groups=row_groups,
                   reject_readers=reject_readers, checks_stale=stale is not None)


def _manifest(root: Path, notes: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, why it was ignored); a malformed manifest becomes a note, see :mod:`prefdata.report.manifest`."""
    try:
        manifest = read_manifest(root / "manifest.json")
    except ManifestProblem as exc:
        problem = f"manifest.json: {exc}"
        notes.append(f"{problem}. The manifest is ignored: counts come from the data and rejects/ alone, "
                     "and README.md is left as it is.")
        return None, problem
    if manifest is None:
        notes.append("No manifest.json: read/rejected counts come from the data and rejects/ alone.")
    return manifest, None


def _plan_shards(
    root: Path, shards: dict[str, list[Path]], notes: list[str]
) -> tuple[pl.Schema, dict[Path, dict[str, pl.Expr]], dict[Path, tuple[int, ...]]]:
    """Plan every shard (:func:`~prefdata.report.normalize.plan_shard`); the schema is the union of what they provide.
    Also returns the rows of each row group of each shard, from its footer.

    Each note names the shards it is about: a column read through a lossy cast or ignored, or a
    column some shards lack while others have it (their pairs show it as missing).
    """
    plans: dict[Path, ShardPlan] = {}
    row_groups: dict[Path, tuple[int, ...]] = {}
    about: dict[str, list[str]] = {}
    for files in shards.values():
        for f in files:
            try:
                found = parquet_schema(f)
                with parquet_source(f) as src:
                    footer = pq.read_metadata(src)
                row_groups[f] = tuple(footer.row_group(i).num_rows for i in range(footer.num_row_groups))
            except Exception as exc:  # polars raises several types for unreadable files
                raise DatasetError(f"{f}: not a readable Parquet file ({exc})") from exc
            plans[f] = plan = plan_shard(found, str(f))
            for text in (*plan.unusable.values(), *plan.recast.values()):
                about.setdefault(text, []).append(f.relative_to(root).as_posix())
    present = {c for plan in plans.values() for c in plan.columns}
    # ``id`` is always there: computed where a shard has none, as check does, so checks.json's ids name those pairs
    schema = pl.Schema({c: t for c, t in CANONICAL_SCHEMA.items() if c in present or c == "id"})
    for column in (c for c in schema.names() if c in present):
        absent = [f.relative_to(root).as_posix() for f, plan in plans.items() if column not in plan.columns | plan.unusable]
        if absent:
            fill = "ids are computed from the messages" if column == "id" else "their pairs show it as missing"
            about.setdefault(f"no {column!r} column while other shards have one; {fill}", []).extend(absent)
    notes.extend(f"{_shards_named(names)}: {text}." for text, names in about.items())
    return schema, {f: plan.columns for f, plan in plans.items()}, row_groups


def _shards_named(names: list[str]) -> str:
    """The first shard a note is about, and how many more (a note per shard would bury the rest)."""
    names = sorted(set(names))
    return names[0] + (f" and {len(names) - 1} more shard(s)" if len(names) > 1 else "")


def _plan_rejects(root: Path, notes: list[str]) -> tuple[list[Path], dict[Path, dict[str, pl.Expr]]]:
    """The readable ``rejects/*.parquet`` and how to read each as REJECT_SCHEMA.

    Rejects only explain what the build dropped, so an unreadable file, or one without a usable
    ``reason`` column, is left out with a note rather than stopping the report.
    """
    usable: list[Path] = []
    readers: dict[Path, dict[str, pl.Expr]] = {}
    for f in visible_parquet(root / "rejects"):
        name = f.relative_to(root).as_posix()
        try:
            schema = parquet_schema(f)
        except (pl.exceptions.PolarsError, OSError) as exc:
            notes.append(f"{name}: not a readable Parquet file ({exc}); its rejected records are not shown.")
            continue
        reader = {c: _reject_column(schema, c, t) for c, t in REJECT_SCHEMA.items()}
        if "reason" not in schema or reader["reason"] is None:
            found = schema.get("reason", "missing")
            notes.append(f"{name}: column 'reason' is {found}, expected String; its rejected records are not shown.")
            continue
        usable.append(f)
        readers[f] = {c: e if e is not None else pl.lit(None, dtype=REJECT_SCHEMA[c]) for c, e in reader.items()}
    return usable, readers


def _reject_column(schema: pl.Schema, column: str, target: pl.DataType) -> pl.Expr | None:
    if column not in schema:
        return pl.lit(None, dtype=target)
    return conform(pl.col(column), schema[column], target)


def checks_for_other_data(checks: dict[str, Any], files: dict[str, Path], pairs: int) -> str | None:
    """Why ``checks`` describe other data than ``files`` (the shards, by name in the dataset), or None.

    A checks.json that names the shards it checked (``shard_sha256``) is compared by their
    fingerprints; an older one only by its count of pairs (``rows``) against the shards' ``pairs``.
    """
    checked = checks.get("shard_sha256")
    if isinstance(checked, dict):
        now = fingerprints(files)
        changed = sorted(n for n in checked.keys() & now.keys() if checked[n] != now[n])
        what = [f"{label} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" for label, names in
                (("changed:", changed), ("new:", sorted(now.keys() - checked.keys())), ("gone:", sorted(checked.keys() - now.keys())))
                if names]
        return f"was written for other data files ({'; '.join(what)})" if what else None
    rows = checks.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and rows != pairs:
        return f"was written for {rows:,} pairs but the data holds {pairs:,}"
    return None


def validate_checks(doc: dict[str, Any]) -> None:
    """Check the fields the report relies on (docs/contracts.md); unknown fields are allowed.

    Every field the report formats or looks up is checked here, optional ones where present and not
    null (a count it prints with separators, a severity it looks up in a table), so that a malformed
    checks.json is an input error naming the field, not a crash mid-report.
    """

    def fail(where: str, what: str) -> None:
        raise ChecksFileError(f"checks.json: {where}: {what} (see docs/contracts.md)")

    def count(value: Any, where: str) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            fail(where, f"must be a whole number >= 0, got {value!r}")

    for key in ("checks", "expectations"):
        if key in doc and not isinstance(doc[key], list):
            fail(key, "must be a list")
    for i, check in enumerate(doc.get("checks", [])):
        where = f"checks[{i}]"
        if not isinstance(check, dict):
            fail(where, "must be an object")
        if not isinstance(check.get("id"), str):
            fail(f"{where}.id", "must be a string")
        if check.get("severity") not in SEVERITIES:
            fail(f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}, got {check.get('severity')!r}")
        if not isinstance(check.get("passed"), bool):
            fail(f"{where}.passed", "must be true or false")
        ids = check.get("offending_ids", [])
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            fail(f"{where}.offending_ids", "must be a list of pair ids")
        count(check.get("offending_count"), f"{where}.offending_count")
    for i, exp in enumerate(doc.get("expectations", [])):
        where = f"expectations[{i}]"
        if not isinstance(exp, dict) or not isinstance(exp.get("expectation_type"), str):
            fail(where, "must be an object with an expectation_type")
        if not isinstance(exp.get("success"), bool):
            fail(f"{where}.success", "must be true or false")
        if not isinstance(exp.get("severity", ""), str | None):
            fail(f"{where}.severity", f"must be a string ({', '.join(SEVERITIES)}), got {exp['severity']!r}")
        result = exp.get("result")
        if result is None:
            continue
        if not isinstance(result, dict):
            fail(f"{where}.result", "must be an object")
        count(result.get("unexpected_count"), f"{where}.result.unexpected_count")
        if not isinstance(result.get("partial_unexpected_list", []), list | None):
            fail(f"{where}.result.partial_unexpected_list", "must be a list")
