"""``contamination``: training prompts that overlap a benchmark's prompts (word n-grams).

Given a file of benchmark prompts (``--benchmark-prompts``), a pair is contaminated when its prompt
shares a word ``ngram`` (default 8, after lowercasing and dropping punctuation) with any benchmark
prompt. A benchmark prompt shorter than ``ngram`` words matches a pair whose prompt, or whose last
prompt message, is exactly that prompt. Training on benchmark prompts inflates every score measured
on that benchmark afterwards.

Accepted files: ``.txt`` (one prompt per line), ``.jsonl``/``.json`` (strings, or objects with a
``prompt``, ``question``, ``instruction``, ``input`` or ``text`` field), ``.csv``/``.parquet`` (a
column with one of those names).
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
from prefdata.check.view import content_text

PROMPT_FIELDS = ("prompt", "question", "instruction", "input", "text")


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    return {}  # its own pass over the prompts, only when a benchmark file is given


def _pick(fields: list[str], path: Path) -> str:
    for name in PROMPT_FIELDS:
        if name in fields:
            return name
    raise InputFileError(f"{path}: no prompt field; expected one of {', '.join(PROMPT_FIELDS)} (found: {', '.join(fields) or 'none'})")


def load_benchmark_prompts(path: str | Path) -> pl.Series:
    """The benchmark prompts of a file, as a string Series (blank ones dropped)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: benchmark prompts file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            prompts = pl.Series("p", path.read_text(encoding="utf-8").splitlines(), dtype=pl.String)
        elif suffix in (".jsonl", ".json"):
            text = path.read_text(encoding="utf-8")
            items = json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines() if line.strip()]
            if not isinstance(items, list):
                raise InputFileError(f"{path}: expected a JSON array of prompts")
            if items and all(isinstance(x, dict) for x in items):
                key = _pick(sorted({k for x in items for k in x}), path)
                items = [x.get(key) for x in items]
            bad = [i for i, x in enumerate(items) if x is not None and not isinstance(x, str)]
            if bad:
                raise InputFileError(f"{path}: item {bad[0]} is not a string prompt")
            prompts = pl.Series("p", items, dtype=pl.String)
        elif suffix in (".csv", ".parquet"):
            frame = pl.read_csv(path) if suffix == ".csv" else pl.read_parquet(path)
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
    bench_set = np.unique(bench_values)
    last_msg = pl.col("prompt").list.last().struct.field("content")
    lf = ctx.dataset.scan().select(
        "_row",
        w=mh.word_hash_expr(content_text("prompt")),
        last=mh.word_hash_expr(last_msg),
    )
    hits = []
    for batch in lf.collect_batches(chunk_size=100_000):
        rows = batch.get_column("_row").cast(pl.Int64).to_numpy()
        values, doc = mh.shingles_from_words(batch.get_column("w"), s.ngram)
        lvalues, ldoc = mh.shingles_from_words(batch.get_column("last"), s.ngram)
        short_last = batch.get_column("last").list.len().fill_null(0).to_numpy() < s.ngram
        keep = short_last[ldoc]
        values = np.concatenate([values, lvalues[keep]])
        doc = np.concatenate([doc, ldoc[keep]])
        matched = np.isin(values, bench_set)
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
        f"{plural(len(ids), 'pair')} share a word {s.ngram}-gram with {plural(benchmarks_hit, 'benchmark prompt')}"
        if ids
        else f"no prompt shares a word {s.ngram}-gram with the {plural(prompts.len(), 'benchmark prompt')}"
    )
    return [count_outcome(ctx, "contamination", ids, statistic, message)]
