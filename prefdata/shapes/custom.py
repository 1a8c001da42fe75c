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
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from prefdata.config import CustomSource
from prefdata.errors import ConfigError
from prefdata.schema import MESSAGES
from prefdata.shapes.base import PAIR_SCHEMA, Shape, finish_pairs
from prefdata.shapes.fields import Leaf
from prefdata.shapes.messages import message


def load_function(spec: str) -> Callable[[pl.LazyFrame], Any]:
    """Import ``module:function`` from PYTHONPATH or, as ``python -m`` would, the current directory."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"custom function {spec!r}: cannot import module {module_name!r} ({exc}); is it on PYTHONPATH?") from None
        finally:
            sys.path.remove(os.getcwd())
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(f"custom function {spec!r}: module {module_name!r} has no function {attr!r}")
    return fn


def lenient_dtype(dtype: pl.DataType) -> pl.DataType:
    """Scalars as strings (how the decoder reads non-text values), lists and structs kept."""
    if isinstance(dtype, pl.List):
        return pl.List(lenient_dtype(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: lenient_dtype(f.dtype) for f in dtype.fields})
    if dtype == pl.Null:
        return pl.String
    return pl.String


class CustomShape(Shape):
    name = "custom"
    reads_whole_record = True  # the function is handed ``_line``

    def __init__(self, source: CustomSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        try:
            self.fn = load_function(source.function)
        except ConfigError as exc:
            raise self._error(str(exc)) from None
        names = list(source.fields) or sorted({k for rec in sample for k in rec if not k.startswith("_")})
        inferred = pl.DataFrame([{k: rec.get(k) for k in names} for rec in sample], infer_schema_length=None) if sample else None
        self.dtypes = {n: lenient_dtype(inferred.schema[n]) if inferred is not None and n in inferred.columns else pl.String for n in names}

    def _error(self, problem: str) -> ConfigError:
        """An error about this source's ``function``, naming the config file, the source and the key as
        the config's own errors do: the function is only imported and run once the config is read."""
        return ConfigError(f"{self.source.where('function')}: {problem}")

    def leaves(self) -> list[Leaf]:
        return [Leaf(name, dtype) for name, dtype in self.dtypes.items()]

    def _turns(self, col: str, dtype: pl.DataType, role: str) -> pl.Expr:
        if dtype == pl.String:
            return pl.when(pl.col(col).is_not_null()).then(pl.concat_list(message(role, pl.col(col)))).cast(MESSAGES)
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            el = pl.element()
            return pl.col(col).list.eval(pl.struct(el.struct.field("role").cast(pl.String), el.struct.field("content").cast(pl.String))).cast(MESSAGES)
        raise self._error(
            f"custom function {self.source.function!r}: column {col!r} must be a string or a list of {{role, content}}, got {dtype}"
        )

    def _call(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """The user's function on one batch, evaluated here: an exception it raises (when called or
        when its frame is collected) is its own error, named as such, not a crash of prefdata."""
        name = self.source.function
        given = lf.filter(pl.col("_reason").is_null())
        try:
            out = self.fn(given.select("_record", "_line", *self.dtypes))
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
        except Exception as exc:  # user code: any exception it raises is the function's
            raise self._error(f"custom function {name!r} failed: {type(exc).__name__}: {exc}") from exc
        unknown = frame.select(pl.col("_record").cast(pl.Int64, strict=False)).filter(
            ~pl.col("_record").is_in(given.select("_record").collect().get_column("_record").implode())
        )
        if unknown.height:
            raise self._error(
                f"custom function {name!r} returned rows whose _record is not a record it was given "
                f"(e.g. {unknown.item(0, 0)}): each output row must keep the _record of the input row it came from"
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
        out = finish_pairs(
            out.with_columns(
                pl.lit(None, pl.String).alias("_field") if "_field" not in schema else pl.col("_field"),
                pl.when(pl.col("_reason").is_not_null()).then(pl.lit(f"rejected by {self.source.function}")).alias("_detail")
                if "_detail" not in schema
                else pl.col("_detail"),
            ),
            **{c: pl.col(c) for c in ("score_chosen", "score_rejected", "chosen_model", "rejected_model") if c in schema},
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
