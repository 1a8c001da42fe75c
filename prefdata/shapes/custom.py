"""``custom``: the escape hatch for layouts no config can describe.

``function: "my_pkg.my_module:to_pairs"`` names a function that receives the decoded raw records as
a polars LazyFrame (one column per raw top-level field listed in ``fields`` (default: every field
seen in a sample), ``_record``, and ``_line``, the record's raw JSON text, for layouts no fixed type
describes) and returns a LazyFrame
(or DataFrame) with ``_record``, ``prompt``, ``chosen`` and ``rejected`` (plain strings, or lists of
``{role, content}``), and optionally ``score_chosen``, ``score_rejected``, ``chosen_model``,
``rejected_model`` and ``_reason`` (a reject reason of its own). Example::

    def to_pairs(lf):
        return lf.select("_record", pl.col("q").alias("prompt"),
                         pl.col("good").alias("chosen"), pl.col("bad").alias("rejected"))

Everything after it (rules, dedup, split, rejects) is the same as for built-in shapes. A record the
function leaves out is a reject with reason ``dropped_by_function``, so nothing is lost silently.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import polars as pl

from prefdata.config import CustomSource
from prefdata.errors import ConfigError
from prefdata.io.decode import column_of, json_kind
from prefdata.schema import MESSAGES
from prefdata.shapes.base import PAIR_SCHEMA, Shape, finish_pairs, keep_reason
from prefdata.shapes.fields import Leaf, as_number
from prefdata.shapes.messages import ROLE_ALIASES, canonical_role, message

#: The file each module a custom source named was run from, and that file's version then (size,
#: mtime_ns, ctime_ns). ``import`` returns the module already in ``sys.modules``: a notebook that fixes
#: its shape function and builds again would get the old function, silently.
_LOADED: dict[str, tuple[str, tuple[int, int, int]]] = {}


def load_function(spec: str) -> Callable[[pl.LazyFrame], Any]:
    """Import ``module:function`` from PYTHONPATH or, as ``python -m`` would, the current directory.

    A module imported before is imported again when its file changed since, or when the current
    directory now holds another file of that name (a second project's ``my_shapes.py``).
    """
    module_name, _, attr = spec.partition(":")
    try:
        with _cwd_searched():
            module = importlib.import_module(module_name)
            module = _current(module_name, module)
    except ImportError as exc:
        raise ConfigError(f"custom function {spec!r}: cannot import module {module_name!r} ({exc}); is it on PYTHONPATH?") from None
    except (Exception, SystemExit) as exc:  # the module's own code (argv parsed at import): never exit 0 or 3 for it
        raise ConfigError(f"custom function {spec!r}: importing module {module_name!r} {_failed(exc)}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"custom function {spec!r}: module {module_name!r} has no function {attr!r}")
    return fn


def _failed(exc: BaseException) -> str:
    """How user code ended: ``sys.exit()`` is no crash of prefdata, nor a build that succeeded."""
    if isinstance(exc, SystemExit):
        return f"exited (SystemExit({exc.code!r}))"
    return f"failed: {type(exc).__name__}: {exc}"


@contextmanager
def _cwd_searched() -> Iterator[None]:
    """The current directory searched after PYTHONPATH (``python -m`` searches it first; a module on
    PYTHONPATH is only shadowed by one in the directory where the build happens to run when asked)."""
    cwd = os.getcwd()
    sys.path.append(cwd)
    try:
        yield
    finally:
        sys.path.remove(cwd)


def _current(name: str, module: ModuleType) -> ModuleType:
    """``module``, imported again when the file it would be read from is not the one it was read from."""
    origin = getattr(module, "__file__", None)
    if origin is None:  # a namespace package or a built-in: nothing to compare
        return module
    # where a top-level module lies now (a submodule is found through its package, left as it is)
    found = importlib.machinery.PathFinder.find_spec(name, sys.path) if "." not in name else None
    if found is not None and found.origin is not None and found.origin != origin:
        return _reloaded(name, module, found)
    now = (origin, _file_version(origin))
    if _LOADED.setdefault(name, now) != now:
        return _reloaded(name, module, found)
    return module


def _reloaded(name: str, module: ModuleType, found: importlib.machinery.ModuleSpec | None) -> ModuleType:
    if found is not None:  # reload searches sys.path for the spec it had: give it the file where it lies now
        module.__spec__ = found
    module = importlib.reload(module)
    _LOADED[name] = (module.__file__, _file_version(module.__file__))
    return module


def _file_version(path: str) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def lenient_dtype(dtype: pl.DataType) -> pl.DataType:
    """Scalars as strings (how the decoder reads non-text values), lists and structs kept."""
    if isinstance(dtype, pl.List):
        return pl.List(lenient_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: lenient_dtype(f.dtype) for f in dtype.fields})
    if dtype == pl.Null:
        return pl.String
    return pl.String


def _sampled_types(names: Sequence[str], sample: Sequence[Mapping[str, Any]]) -> Mapping[str, pl.DataType]:
    """The type of each field in the sampled records: one schema for all fields (one per field is
    slow for thousands), or, where records disagree on a field's type (a list in one, text in
    another), that field's type in most of its records. The others are then ``wrong_type`` rejects
    naming the field, where the disagreement stopped the build (a polars error, exit 3)."""
    if not sample:
        return {}
    try:
        return pl.DataFrame([{k: rec.get(k) for k in names} for rec in sample], infer_schema_length=None).schema
    except (pl.exceptions.PolarsError, TypeError):
        return {name: _field_type([rec.get(name) for rec in sample]) for name in names}


def _field_type(values: list[Any]) -> pl.DataType:
    """One field's type from its sampled values: of all of them, else of the JSON kind most of them
    have (a list of single values where even those disagree: they are read as text)."""
    for chosen in (values, _most_common_kind(values)):
        try:
            return pl.DataFrame([{"v": v} for v in chosen], infer_schema_length=None).schema["v"]
        except (pl.exceptions.PolarsError, TypeError):
            continue
    return pl.List(pl.String) if isinstance(_most_common_kind(values)[0], list) else pl.String


def _most_common_kind(values: list[Any]) -> list[Any]:
    """The values of the JSON kind most values have (the first seen of two as common)."""
    by_kind: dict[str, list[Any]] = {}
    for v in values:
        if v is not None:
            by_kind.setdefault(json_kind(v), []).append(v)
    return max(by_kind.values(), key=len) if by_kind else [None]


#: Columns of the function's frame, or of what it returns, that are not raw fields: a raw field of
#: one of these names cannot be handed over under it (a raw ``_reason`` passed through would make
#: the record a reject under that text).
_FUNCTIONS_OWN = {
    "_record": "the record's number",
    "_line": "the record's raw JSON",
    "_reason": "the reject reason it may return",
    "_field": "the field it may name for a reject",
    "_detail": "the reject detail it may return",
}


class CustomShape(Shape):
    name = "custom"
    reads_whole_record = True  # the function is handed ``_line``

    def __init__(self, source: CustomSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        self.aliases = {**ROLE_ALIASES, **source.roles}  # the roles of the message lists it returns, as any shape maps them
        try:
            self.fn = load_function(source.function)
        except ConfigError as exc:
            raise self._error(str(exc)) from None
        names = list(source.fields) or sorted({k for rec in sample for k in rec if not k.startswith("_")})
        if given := [n for n in names if n in _FUNCTIONS_OWN]:
            raise ConfigError(
                f"{source.where('fields')}: field {given[0]!r} cannot be handed to the function, whose "
                f"{given[0]!r} column is {_FUNCTIONS_OWN[given[0]]} (read the raw field from '_line', the record's JSON)"
            )
        inferred = _sampled_types(names, sample)
        self.dtypes = {n: lenient_dtype(inferred[n]) if n in inferred else pl.String for n in names}

    def _error(self, problem: str) -> ConfigError:
        """An error about this source's ``function``, naming the config file, the source and the key as
        the config's own errors do: the function is only imported and run once the config is read."""
        return ConfigError(f"{self.source.where('function')}: {problem}")

    def leaves(self) -> list[Leaf]:
        return [Leaf(name, dtype, literal=True) for name, dtype in self.dtypes.items()]

    def _turns(self, col: str, dtype: pl.DataType, role: str) -> pl.Expr:
        if dtype == pl.String:
            return pl.when(pl.col(col).is_not_null()).then(pl.concat_list(message(role, pl.col(col)))).cast(MESSAGES)
        el = pl.element()  # else a list of {role, content}: _call checked the column's type
        role = canonical_role(el.struct.field("role").cast(pl.String), self.aliases).alias("role")
        return pl.col(col).list.eval(pl.struct(role, el.struct.field("content").cast(pl.String))).cast(MESSAGES)

    def _call(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """The user's function on one batch, evaluated here: an exception it raises (when called or
        when its frame is collected) is its own error, named as such, not a crash of prefdata."""
        name = self.source.function
        # collected before the call, so that the function's query starts from the names it is given:
        # polars prints a plan that fails to resolve in its error, which would name the marked columns
        given = lf.filter(pl.col("_reason").is_null()).select(
            "_record", "_line", *[pl.col(column_of(n)).alias(n) for n in self.dtypes]
        ).collect()
        try:
            out = self.fn(given.lazy())
            if not isinstance(out, (pl.LazyFrame, pl.DataFrame)):
                raise self._error(
                    f"custom function {name!r} must return a polars LazyFrame or DataFrame, got {type(out).__name__}"
                )
            missing = [c for c in ("_record", "prompt", "chosen", "rejected") if c not in out.collect_schema()]
            if missing:
                raise self._error(f"custom function {name!r} returned no column(s) {', '.join(missing)}")
            frame = out.lazy().collect()
        except ConfigError:
            raise
        except (Exception, SystemExit) as exc:  # user code: what it raises is the function's (KeyboardInterrupt is the user's)
            raise self._error(f"custom function {name!r} {_failed(exc)}") from exc
        for column, dtype in frame.schema.items():
            if (problem := _wrong_type(column, dtype)) is not None:
                raise self._error(f"custom function {name!r}: column {column!r} must be {problem}, got {dtype}")
        # a null _record is no record it was given either (is_in gives null there, which filter dropped)
        record = pl.col("_record").cast(pl.Int64, strict=False)  # a UInt64 past Int64 becomes null: unknown too
        given_records = given.get_column("_record").implode()
        unknown = frame.filter(record.is_null() | ~record.is_in(given_records)).get_column("_record")
        if unknown.len():
            example = unknown.sort(nulls_last=False).item(0)
            which = "is null" if example is None else f"is not a record it was given (e.g. {example})"
            raise self._error(
                f"custom function {name!r} returned rows whose _record {which}: each output row must keep the _record of the input row it came from"
            )
        return frame

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        collected = self._call(lf)
        schema = collected.schema
        out = collected.lazy()
        out = out.with_columns(
            self._turns("prompt", schema["prompt"], "user").alias("prompt"),
            self._turns("chosen", schema["chosen"], "assistant").alias("chosen"),
            self._turns("rejected", schema["rejected"], "assistant").alias("rejected"),
            *([] if "_reason" in schema else [pl.lit(None, pl.String).alias("_reason")]),
        ).with_columns(pl.col("_record").cast(pl.Int64))
        out = out.join(lf.select("_record", "_line"), on="_record", how="left")
        out = out.with_columns(
            pl.lit(None, pl.String).alias("_field") if "_field" not in schema else pl.col("_field"),
            pl.when(pl.col("_reason").is_not_null()).then(pl.lit(f"rejected by {self.source.function}")).alias("_detail")
            if "_detail" not in schema
            else pl.col("_detail"),
        )
        scores = [c for c in ("score_chosen", "score_rejected") if c in schema]
        for c in scores:  # NaN and infinities are no score, as in every shape (fields.as_number)
            value = pl.col(c).cast(pl.Float64)
            out = out.with_columns(keep_reason(pl.lit("wrong_type"), pl.lit(c), pl.lit(f"{c}: score is not a number"), value.is_not_null() & ~value.is_finite()))
        out = finish_pairs(
            out,
            **{c: as_number(pl.col(c)) for c in scores},
            **{c: pl.col(c) for c in ("chosen_model", "rejected_model") if c in schema},
        )
        kept = out.select("_record").unique()
        dropped = lf.join(kept, on="_record", how="anti").select(
            "_record",
            "_line",
            *[pl.lit(None, d).alias(n) for n, d in PAIR_SCHEMA.items() if n not in ("_record", "_line", "_reason", "_field", "_detail")],
            pl.coalesce(pl.col("_reason"), pl.lit("dropped_by_function")).alias("_reason"),
            pl.col("_field"),
            pl.coalesce(pl.col("_detail"), pl.lit(f"{self.source.function} returned no row for this record")).alias("_detail"),
        )
        return pl.concat([out.cast(dict(PAIR_SCHEMA)), dropped.cast(dict(PAIR_SCHEMA))]).sort("_record", maintain_order=True)

    def describe(self) -> str:
        return f"custom: {self.source.function}(LazyFrame of {', '.join(self.dtypes) or 'no fields'})"


_TEXT = (pl.String, pl.Categorical, pl.Enum, pl.Null)


def _is_text(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _TEXT) or dtype in _TEXT


def _wrong_type(column: str, dtype: pl.DataType) -> str | None:
    """What ``column`` of a custom function's frame must be when ``dtype`` is not it (None: fine, or a
    column prefdata does not read). Checked before the frame is used: a wrong type was a polars
    error deep in the build (exit 3, "a bug in prefdata"), not the function's error."""
    if column == "_record":
        return None if dtype.is_integer() or dtype == pl.Null else "the integer _record of the input row"
    if column in ("prompt", "chosen", "rejected"):
        if dtype == pl.String:
            return None
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            fields = {f.name: f.dtype for f in dtype.inner.fields}
            if all(k in fields and _is_text(fields[k]) for k in ("role", "content")):
                return None
        return "a string or a list of {role, content} (text each)"
    if column in ("score_chosen", "score_rejected"):
        return None if dtype.is_numeric() or dtype == pl.Null else "a number"
    if column in ("chosen_model", "rejected_model", "_reason", "_field", "_detail"):
        return None if _is_text(dtype) else "text"
    return None
