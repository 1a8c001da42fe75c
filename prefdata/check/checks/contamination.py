"""``contamination``: training prompts that overlap a benchmark's prompts (word n-grams).

Given a file of benchmark prompts (``--benchmark-prompts``), a pair is contaminated when a message
of its prompt shares a word ``ngram`` (default 8, after lowercasing and dropping punctuation) with
any benchmark prompt. N-grams stay inside one message: the last words of one turn and the first of
the next were never written together, so they are no evidence of a copy. A benchmark prompt shorter
than ``ngram`` words matches a pair whose last prompt message is exactly that prompt (a short
earlier turn such as "Thanks!" would match half the data). Training on benchmark prompts inflates
every score measured on that benchmark afterwards.

Accepted files: ``.txt`` (one prompt per line, lines ending at ``\n``), ``.jsonl``/``.json`` (a JSON array or JSON lines
of strings, or of objects each with a ``prompt``, ``question``, ``instruction``, ``input`` or
``text`` field: each object's first such field, so a file merged from two benchmarks keeps both),
``.csv``/``.parquet`` (a column with one of those names). An object with none of those fields is an
error naming it: checking against fewer prompts than the file holds would read as "clean".
Text is compared after Unicode normalization (:func:`prefdata.check.minhash.word_hash_expr`), so
curly quotes, no-break spaces or a byte-order mark do not hide a copied prompt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from prefdata.check import minhash as mh
from prefdata.check.checks.base import Context, count_outcome, plural, share, skipped
from prefdata.check.config import CheckConfig
from prefdata.check.errors import InputFileError
from prefdata.check.results import CheckOutcome
from prefdata.config_files import parse_json
from prefdata.non_utf8_paths import source

PROMPT_FIELDS = ("prompt", "question", "instruction", "input", "text")


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    return {}  # its own pass over the prompts, only when a benchmark file is given


def _pick(fields: list[str], path: Path, where: str = "", record: dict | None = None) -> str:
    """The first prompt field present; in a ``record``, the first one with a value (a file merged
    from two benchmarks by polars or pandas writes the other benchmark's field as null)."""
    present = [name for name in PROMPT_FIELDS if name in fields]
    if not present:
        raise InputFileError(f"{path}: {where}no prompt field; expected one of {', '.join(PROMPT_FIELDS)} (found: {', '.join(fields) or 'none'})")
    if record is not None:
        return next((name for name in present if record.get(name) is not None), present[0])
    return present[0]


def _lines(text: str) -> list[str]:
    """The lines of a text file, split at ``\n`` only (a trailing ``\r`` dropped): ``str.splitlines``
    also splits at U+2028, U+2029, U+0085, ``\v``, ``\f`` and ``\x1c``-``\x1e``, which a JSON
    string written with ``ensure_ascii=False`` or a prompt line may hold, cutting one prompt in two."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _json_items(text: str, path: Path, lines: bool) -> list:
    """The items of a JSON array file, or of a JSON-lines file (also when it is named ``.json``)."""
    if not lines:
        try:
            doc = parse_json(text)
        except json.JSONDecodeError as exc:
            if not exc.msg.startswith("Extra data"):
                raise
        else:
            if isinstance(doc, dict):
                return [doc]  # one record
            if not isinstance(doc, list):
                raise InputFileError(f"{path}: expected a JSON array of prompts, or JSON lines")
            return doc
    items = []
    for number, line in enumerate(_lines(text), 1):
        if line.strip():
            try:
                items.append(parse_json(line))
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{path}: cannot read benchmark prompts: line {number} is not JSON ({exc.msg})") from None
    return items


def _read_text(path: Path) -> str:
    """The file's text, BOM dropped, line ends as written (``read_text`` would make a lone ``\r`` a
    line end)."""
    return path.read_bytes().decode("utf-8-sig")


def load_benchmark_prompts(path: str | Path) -> pl.Series:
    """The benchmark prompts of a file, as a string Series (blank ones dropped)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: benchmark prompts file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            prompts = pl.Series("p", _lines(_read_text(path)), dtype=pl.String)
        elif suffix in (".jsonl", ".json"):
            items = _json_items(_read_text(path), path, lines=suffix == ".jsonl")
            items = [x.get(_pick(list(x), path, f"item {i}: ", x)) if isinstance(x, dict) else x for i, x in enumerate(items)]
            bad = [i for i, x in enumerate(items) if x is not None and not isinstance(x, str)]
            if bad:
                raise InputFileError(f"{path}: item {bad[0]} is not a string prompt")
            prompts = pl.Series("p", items, dtype=pl.String)
        elif suffix in (".csv", ".parquet"):
            with source(path) as src:  # a name that is not UTF-8 is no path to polars: an open file is
                frame = pl.read_csv(src, glob=False) if suffix == ".csv" else pl.read_parquet(src, glob=False)
            prompts = frame.get_column(_pick(frame.columns, path)).cast(pl.String)
        else:
            raise InputFileError(f"{path}: unsupported benchmark file type {suffix!r} (use .txt, .jsonl, .json, .csv or .parquet)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, pl.exceptions.PolarsError) as exc:
        raise InputFileError(f"{path}: cannot read benchmark prompts: {exc}") from exc
    prompts = prompts.drop_nulls()
    prompts = prompts.filter(prompts.str.strip_chars() != "")
    if prompts.is_empty():
        # a contamination check against nothing would pass and read as "clean"
        raise InputFileError(f"benchmark prompts file {path} holds no prompts (blank lines and nulls do not count)")
    return prompts


def _ngrams(texts: pl.Series, n: int) -> tuple[np.ndarray, np.ndarray]:
    words = texts.to_frame("t").select(mh.word_hash_expr(pl.col("t"))).to_series()
    return mh.shingles_from_words(words, n)


def run(ctx: Context) -> list[CheckOutcome]:
    s = ctx.config.checks.contamination
    if not s.enabled:
        return []
    if ctx.options.benchmark_prompts is None:
        return [skipped(ctx, "contamination", "no --benchmark-prompts file given")]
    prompts = load_benchmark_prompts(ctx.options.benchmark_prompts)
    bench_values, bench_doc = _ngrams(prompts, s.ngram)
    bench = pl.DataFrame({"g": bench_values, "bench": bench_doc}).unique()
    # polars, not numpy: numpy 2.4's unique/isin take ~20 s on millions of u64 n-grams, polars < 1 s
    bench_set = pl.Series(bench_values).unique().implode()
    # one row per prompt message, so that n-grams never run from one turn into the next
    messages = ctx.dataset.scan().select(
        "_row",
        "prompt",
        last=pl.col("prompt").list.eval(pl.int_range(pl.len()) == pl.len() - 1),
    ).explode("prompt", "last").select(
        "_row",
        "last",
        w=mh.word_hash_expr(pl.col("prompt").struct.field("content")),
    )
    hits = []
    for batch in messages.collect_batches(chunk_size=100_000):
        rows = batch.get_column("_row").cast(pl.Int64).to_numpy()
        words = batch.get_column("w")
        values, doc = mh.shingles_from_words(words, s.ngram)
        # a message shorter than ngram words is one shingle of all its words: kept for the last one only
        short = words.list.len().fill_null(0).to_numpy() < s.ngram
        last = batch.get_column("last").fill_null(False).to_numpy()
        keep = ~short[doc] | last[doc]
        values, doc = values[keep], doc[keep]
        matched = pl.Series(values).is_in(bench_set).to_numpy()
        if matched.any():
            hits.append(pl.DataFrame({"_row": rows[doc[matched]], "g": values[matched]}))
    found = pl.concat(hits).unique() if hits else pl.DataFrame(schema={"_row": pl.Int64, "g": pl.UInt64})
    benchmarks_hit = found.join(bench, on="g").get_column("bench").n_unique() if found.height else 0
    ids = ctx.ids_of_rows(found.get_column("_row").unique())
    statistic = {
        "pairs": len(ids),
        "share": share(len(ids), ctx.frame.height),
        "benchmark_prompts": prompts.len(),
        "benchmark_prompts_matched": benchmarks_hit,
        "ngram": s.ngram,
    }
    message = (
        f"{plural(len(ids), 'pair')} {'shares' if len(ids) == 1 else 'share'} a word {s.ngram}-gram with {plural(benchmarks_hit, 'benchmark prompt')}"
        if ids
        else f"no prompt shares a word {s.ngram}-gram with the {plural(prompts.len(), 'benchmark prompt')}"
    )
    return [count_outcome(ctx, "contamination", ids, statistic, message)]
