"""``prefdata.build``: raw logs -> the canonical preference dataset on disk.

Pass 1 streams each raw file in bounded batches: decode -> shape adapter -> generic rules -> keys,
spilling pairs to hash partitions (of the pair ``id``, or of the prompt where feedback is paired) and
every dropped row (with its reason) aside. Pass 2 takes one partition at a time: pair cross-record
shapes, drop duplicates, assign the split, write the shards. Then rejects, manifest and card are
written and the finished folder is swapped into place.
"""

from __future__ import annotations

import glob
import itertools
import math
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from prefdata import __version__
from prefdata.arguments import require_bool, require_number, require_path, require_whole
from prefdata.build.batching import Joiner, Work, join_key
from prefdata.build.card import UserEdits, render_card
from prefdata.build.finalize import RECORD_BITS, finalize_partition, lineage_drops, raw_order
from prefdata.build.output import (
    MAX_PARTITIONS,
    check_out_dir,
    make_temp_dir,
    release_temp_dir,
    sha256_file,
    shard_name,
    swap_into_place,
    write_parquet,
)
from prefdata.build.plan import BuildPlan, FilePlan, describe_files, plan_build
from prefdata.build.previous_out import BUILD_WRITES, DERIVED_FROM_PAIRS, SPILL_DIR
from prefdata.build.progress import Progress
from prefdata.build.rejects import RawText, RejectCounts, write_rejects
from prefdata.build.rules import apply_rules, test_threshold, with_group_keys, with_keys
from prefdata.build.spill import Spill
from prefdata.config import BuildConfig, dump_config, load_config, parse_config
from prefdata.errors import ConfigError, InputError, OutputError, ReconciliationError, writing
from prefdata.io.compression import estimated_size
from prefdata.io.decode import decode
from prefdata.io.discover import file_stamp, shown_name
from prefdata.io.records import BATCH_ROWS, BLOCK_BYTES, LineIndex, RecordBatch, iter_batches
from prefdata.ordered_map import ordered_map
from prefdata.schema import LINEAGE, MESSAGES, id_expr
from prefdata.shapes.base import keep_reason
from prefdata.shapes.feedback import mark_repeated_unpaired

PARTITION_BYTES = 256 * 1024 * 1024
#: The smallest pass-1 block, for shapes that expand their records the most.
MIN_BLOCK_BYTES = 256 * 1024
@cache
def workers() -> int:
    """Batches processed at once in pass 1: one per core polars may use, at least 2 (polars releases the
    GIL, and one batch keeps about one core busy) and at most 8 (each holds ~100 MB while in flight).
    Asked at the first build, not at import: it starts polars' thread pool, and a failure there must
    reach the CLI's error handler (``import prefdata`` runs before it exists)."""
    return max(2, min(8, pl.thread_pool_size()))


def in_flight() -> int:
    """Batches read ahead: bounds pass-1 memory to a few batches."""
    return workers() + 1


@dataclass
class FileStats:
    records: int = 0
    blank_lines: int = 0
    line_offsets: list[pl.Series] = field(default_factory=list)  # plain files: where records start
    line_ends: list[pl.Series] = field(default_factory=list)  # ... and end (JSON array elements)


@dataclass
class BuildResult:
    """What a build did; ``manifest`` is exactly what ``OUT/manifest.json`` holds."""

    out: Path
    manifest: dict[str, Any]
    config: BuildConfig  # as used: the given one with overrides, or one source per detected file
    detected: list[tuple[str, str]] = field(default_factory=list)  # (file, description)
    warnings: list[str] = field(default_factory=list)

    @cached_property
    def config_yaml(self) -> str:
        """``config`` as YAML for ``--config``: written when asked (a folder of 20,000 files is 20,000 sources)."""
        return dump_config(self.config)

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]

    def __repr__(self) -> str:
        """A line, not the whole manifest (megabytes for a folder of small files)."""
        c = self.counts
        return (f"BuildResult(out={str(self.out)!r}, records_read={c['records_read']:,}, pairs_written={c['pairs_written']:,}, "
                f"records_rejected={c['records_rejected']:,}, pairs_by_split={c['pairs_by_split']}, warnings={len(self.warnings)})")


def _resolve_config(config: str | os.PathLike[str] | BuildConfig | Mapping[str, Any] | None) -> BuildConfig | None:
    if config is None or isinstance(config, BuildConfig):
        return config
    if isinstance(config, Mapping):
        return parse_config(dict(config))
    if not isinstance(config, (str, os.PathLike)):
        raise ConfigError(f"config must be a YAML file path, a mapping or a BuildConfig, got {type(config).__name__}")
    require_path("config", config, ConfigError)  # "" is the current folder
    return load_config(config)


def build(
    raw: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: str | os.PathLike[str] | BuildConfig | Mapping[str, Any] | None = None,
    test_fraction: float | None = None,
    seed: int | None = None,
    dedup: bool | None = None,
    partitions: int | None = None,
    quiet: bool = True,
    log: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the canonical dataset from RAW into OUT (atomically; OUT is replaced only on success).

    ``config`` is a YAML path, a mapping or a :class:`BuildConfig`; without one each file's shape is
    detected (and ``log`` is told what was inferred). ``test_fraction``/``seed`` override the
    config's ``split``; ``dedup=False`` keeps exact duplicate pairs. ``partitions`` sets the number of hash partitions (and output shards per
    split); by default one per 256 MB of input or per 500,000 pairs, whichever gives more.
    """
    for name, value in (("raw", raw), ("out", out)):
        require_path(name, value, InputError)
    require_bool("quiet", quiet, ConfigError)
    if log is not None and not callable(log):  # it failed at its first line, deep in the build, as a TypeError
        raise ConfigError(f"log must be a function taking one line of text (e.g. print) or None, got {type(log).__name__} {log!r:.60}")
    if partitions is not None:
        partitions = require_whole("partitions", partitions, ConfigError, least=1, most=MAX_PARTITIONS,
                      why=" (shard names number them in five digits; None: one per 256 MB of input or 500,000 pairs)")
    # a bool is a number to Python and to pydantic: test_fraction=False was a build without a test split
    if test_fraction is not None:
        test_fraction = require_number("test_fraction", test_fraction, ConfigError)
    if seed is not None:
        seed = require_whole("seed", seed, ConfigError)
    out_path = Path(out)
    target = _out_folder(out_path)
    check_out_dir(target)
    cfg = _resolve_config(config)
    # OUT is left out of RAW (a dataset written inside the raw folder), unless RAW is that dataset or its
    # data/: a rebuild reads the old pairs, which stay in place until the new dataset is swapped in.
    # RAW in a folder of OUT that builds do not write (OUT/raw) is kept by the swap; RAW in rejects/ or
    # kto/ would be read and then deleted with the old OUT.
    inside = _within(raw, target)
    rebuild = inside and (_same(raw, target) or _within(raw, target / "data"))
    if inside and not rebuild and _top_entry(raw, target) in BUILD_WRITES | DERIVED_FROM_PAIRS:
        raise InputError(f"RAW '{raw}' lies in '{_top_entry(raw, target)}' of OUT '{out}', which the build replaces: move the raw files out of it first")
    plan = plan_build(raw, cfg, exclude=None if inside else target)
    split = plan.config.split.overridden(**{k: v for k, v in {"test_fraction": test_fraction, "seed": seed}.items() if v is not None})
    if dedup is not None:  # model_copy does not validate: "no" would be recorded as is
        require_bool("dedup", dedup, ConfigError)
    effective = plan.config.model_copy(update={"split": split, **({"dedup": dedup} if dedup is not None else {})})
    say = log or (lambda _msg: None)
    detected = [(p.file.name, p.shape.describe()) for p in plan.files]
    for line in describe_files(plan.files):
        say(line)
    for s in plan.skipped:
        say(f"{shown_name(s.name)}: skipped ({s.reason})")
    for line in plan.warnings:
        say(f"warning: {line}")
    n_parts = partitions or _default_partitions(plan)

    # the previous dataset's card: a licence, a description the user added there survive the rebuild
    edits = UserEdits.read(target / "README.md") if (target / "manifest.json").is_file() else None
    tmp = make_temp_dir(target)
    try:
        with Progress(enabled=None if not quiet else False) as progress:
            manifest = _run(plan, effective, tmp, n_parts, progress, edits)
        if rebuild:
            _refuse_emptying(raw, out, manifest["counts"])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        release_temp_dir(tmp)
        raise
    card_warning = edits.warning() if edits is not None else None
    if card_warning is not None:
        say(f"warning: {card_warning}")
    settled = swap_into_place(tmp, target)  # removes tmp itself if the swap fails; after it, tmp is the previous OUT
    for line in (settled.note(), settled.warning()):
        if line is not None:
            say(line)
    warnings = [f"{shown_name(s.name)}: skipped ({s.reason})" for s in plan.skipped] + plan.warnings + [w for w in (card_warning, settled.warning()) if w]
    forced_group = manifest["split"]["test_group_forced"]
    if (lopsided := _split_warning(effective.split.test_fraction, manifest["counts"]["pairs_by_split"], forced=forced_group)) is not None:
        say(f"warning: {lopsided}")
        warnings.append(lopsided)
    if forced_group:
        n_test = manifest["counts"]["pairs_by_split"].get("test", 0)
        forced = (
            f"no prompt group's hash fell below test_fraction {effective.split.test_fraction:g}, so the group with the smallest "
            f"hash ({n_test:,} pair{'' if n_test == 1 else 's'}) was put in test to have one: unlike the "
            "others, it may move to train when the dataset grows (a model trained on the larger build has seen it)"
        )
        say(f"note: {forced}")  # a note, not a warning: every toy build has it, and the manifest records it
    return BuildResult(out_path, manifest, effective, detected, warnings)


#: Below this many pairs a test share far from the fraction asked for is chance, not worth a warning.
SPLIT_WARNING_MIN_PAIRS = 50


def _split_warning(test_fraction: float, pairs_by_split: Mapping[str, int], *, forced: bool = False) -> str | None:
    """A warning when the test split is far from ``test_fraction`` (under half or over twice it), with
    its cause as far as the counts tell it.

    The split moves a whole prompt group (the pairs whose prompts open with the same user turn) at a
    time. ``forced``: no group's hash fell below the fraction and the build put one in test, so the
    share is that group's; where the fraction asks for less than one pair, that is all the ``note:``
    says, and no warning. A fraction of less than one pair, unforced, leaves test empty. Otherwise few
    groups hold the pairs (a log whose conversations all open alike, "Hello!", is one group, and its
    test split is empty or everything), or the fraction picks so few groups that chance moves the share.

    >>> print(_split_warning(0.0001, {"train": 2301, "test": 2}, forced=True))
    None
    >>> print(_split_warning(0.2, {"train": 2, "test": 60}, forced=True))
    the test split holds 60 of 62 pairs (96.8%), not about 20%: no prompt group's hash fell below test_fraction, so the build put the one with the smallest hash in test, and the share is that one group's (the pairs whose prompts open with its user turn)
    >>> print(_split_warning(1e-20, {"train": 2303, "test": 0}))
    the test split holds 0 of 2,303 pairs (0%), not about 1e-18%: test_fraction of 2,303 pairs is 2.3e-17 pair, less than any prompt group holds
    """
    total = sum(pairs_by_split.values())
    test = pairs_by_split.get("test", 0)
    if test_fraction <= 0 or total < SPLIT_WARNING_MIN_PAIRS or test_fraction / 2 <= test / total <= 2 * test_fraction:
        return None
    tiny = test_fraction * total < 1
    if forced and tiny:  # the test split the fraction asks for is under a pair: the forced group's note says it all
        return None
    said = f"the test split holds {test:,} of {total:,} pairs ({_percent(test / total)}), not about {_percent(test_fraction)}: "
    if forced:
        return said + (
            "no prompt group's hash fell below test_fraction, so the build put the one with the smallest hash in test, "
            "and the share is that one group's (the pairs whose prompts open with its user turn)"
        )
    if tiny:
        return said + f"test_fraction of {total:,} pairs is {test_fraction * total:.2g} pair, less than any prompt group holds"
    return said + (
        "pairs are split by the opening user turn of their prompt, a whole group at a time, so either a few openings "
        "(a greeting every conversation starts with, one shared instruction) hold most pairs, or the fraction picks "
        "so few groups that chance moves the share"
    )


def _percent(share: float) -> str:
    """``share`` as a percentage with three significant digits: 0.0001 is ``0.01%``, not ``0%``.

    >>> _percent(0.05), _percent(2 / 2303), _percent(0.0), _percent(1e-20), _percent(0.125)
    ('5%', '0.0868%', '0%', '1e-18%', '12.5%')
    """
    return f"{share * 100:.3g}%"


#: Pass 2 holds a partition's pairs, and each costs about 1 KB there however short its text (message
#: lists, keys, lineage, the dedup and split): 15 million 70-byte records in 256 MB partitions of
#: 3.8 million pairs peaked at 3.7 GB. So a partition also holds at most this many pairs.
PARTITION_ROWS = 500_000


def _default_partitions(plan: BuildPlan) -> int:
    """One partition per 256 MB of pairs to write, and at least one per ``PARTITION_ROWS`` pairs (at most
    :data:`~prefdata.build.output.MAX_PARTITIONS`, 25 TB in partitions of 256 MB)."""
    total = rows = 0.0
    for p in plan.files:
        # compressed files by their measured ratio: prompts that share long instructions compress 30x
        size = estimated_size(p.file.path, p.file.compression)
        total += size * p.shape.expansion
        rows += _records(p, size) * p.shape.pairs_per_record
    return min(MAX_PARTITIONS, max(1, math.ceil(total / PARTITION_BYTES), math.ceil(rows / PARTITION_ROWS)))


def _records(p: FilePlan, size: int) -> float:
    """Records in ``p``'s file: a Parquet file says, others are estimated from their sampled records' size."""
    if p.file.format == "parquet" and p.file.compression is None:
        import pyarrow.parquet as pq

        try:
            with open(p.file.path, "rb") as fh:  # not the path: pyarrow takes only a UTF-8 one
                return float(pq.read_metadata(fh).num_rows)
        except (OSError, ValueError):  # unreadable here: its batches will say why
            pass
    return size / p.record_bytes


def _source_index(plan: BuildPlan, p: FilePlan) -> int:
    return next(i for i, s in enumerate(plan.config.sources) if s is p.source)


def _run(plan: BuildPlan, config: BuildConfig, tmp: Path, n_parts: int, progress: Progress, edits: UserEdits | None = None) -> dict[str, Any]:
    spill = Spill(tmp / SPILL_DIR, n_parts)
    seed = config.split.seed
    file_names = [p.file.name for p in plan.files]
    file_index = {name: i for i, name in enumerate(file_names)}
    with ThreadPoolExecutor(max_workers=1) as hasher, ThreadPoolExecutor(max_workers=workers()) as pool:
        input_hashes = [hasher.submit(sha256_file, p.file.path) for p in plan.files]
        stats = _pass_one(plan, spill, pool, seed=seed, partitions=n_parts, progress=progress)
        progress.phase("deduplicating and splitting", total=n_parts)
        outputs, output_keys, rows_by_source, rows_by_split, forced = _pass_two(plan, config, spill, tmp, n_parts, file_index)
        progress.phase("writing rejects and manifest")
        _refuse_changed_inputs(plan)  # before reading rejects back by their offsets
        indexes = {p.index: LineIndex(p.file.path, p.file.bytes, s.line_offsets, s.line_ends) for p, s in zip(plan.files, stats) if s.line_offsets}
        raw = RawText([p.file for p in plan.files], indexes)
        rejects_path = tmp / "rejects" / shard_name("rejects", 0, 1)
        rejected = write_rejects(
            spill.drop_groups(), spill.late_runs(), output_keys, raw, file_names, rejects_path, config.output.compression
        )
        outputs.append(_output_entry(tmp, rejects_path, None, rejected.rows))
        counts = _counts(plan, stats, output_keys, rejected, rows_by_source, rows_by_split)
        inputs = [
            {
                "path": p.file.name,
                "source": p.source_name,
                "shape": p.shape.name,
                "format": p.file.format,
                "compression": p.file.compression,
                "bytes": p.file.bytes,
                "sha256": h.result(),
                "records": s.records,
                "blank_lines": s.blank_lines,
            }
            for p, s, h in zip(plan.files, stats, input_hashes)
        ]
    _refuse_changed_inputs(plan)  # the hashes just taken are of the version read
    shutil.rmtree(spill.root)
    manifest = {
        "prefdata_version": __version__,
        "config": config.normalized(),
        "inputs": inputs,
        "skipped_files": [{"path": s.name, "reason": s.reason} for s in plan.skipped],
        "outputs": outputs,
        "split": {"test_fraction": config.split.test_fraction, "seed": seed, "key": "first user turn of the prompt, lower-cased, whitespace removed", "partitions": n_parts,
                  "test_group_forced": forced},
        "counts": counts,
    }
    # orjson: Python's indenting encoder took half a second for a folder of 20,000 files
    with writing(tmp / "manifest.json"):
        (tmp / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")
    card = render_card(manifest, edits=edits)  # rendered outside ``writing``: only the write is the disk's
    with writing(tmp / "README.md"):
        (tmp / "README.md").write_text(card, encoding="utf-8")
    return manifest


def _refuse_emptying(raw: str | os.PathLike[str], out: str | os.PathLike[str], counts: Mapping[str, Any]) -> None:
    """Stop a rebuild in place (RAW is OUT, or its ``data/``) that would write no pair from pairs it
    read: the old pairs are the only copy of that data, and the swap would leave only their rejects.
    A build from raw files can always be run again; this one could not."""
    if counts["pairs_written"] or not counts["records_read"]:
        return
    reasons = ", ".join(f"{r}: {n:,}" for r, n in sorted(counts["rejected_by_reason"].items()))
    raise OutputError(
        f"rebuilding '{out}' from '{raw}' would write none of its {counts['records_read']:,} pairs (rejected: {reasons}), "
        f"and they are the only copy: '{out}' is left as it was; build into another folder to see the rejects and their reasons"
    )


def _refuse_changed_inputs(plan: BuildPlan) -> None:
    """Stop the build if a RAW file changed or went away since it was planned: its pairs, the raw
    text of its rejects (read back by offset) and its sha256 would describe different versions."""
    for p in plan.files:
        try:
            now = file_stamp(os.stat(p.file.path))
        except OSError as exc:
            raise InputError(f"{shown_name(p.file.name)}: went away during the build ({exc.strerror or exc}); build again") from None
        if p.file.stamp is not None and now != p.file.stamp:
            raise InputError(
                f"{shown_name(p.file.name)}: changed during the build (size {p.file.stamp[1]:,} -> {now[1]:,} bytes, or its inode or "
                "modification time); build again once it is complete (copy a log that is still written to)"
            )


def _spill_batch(work: Work, spill: Spill, kind: str, seq: int, *, seed: int, partitions: int, pairs_by_prompt: bool = False) -> None:
    """Process one batch and spill what it gave, in a worker thread: the reading thread only reads.

    ``seq`` was reserved in reading order, so the spill reads back in that order.
    """
    drops, rows = _process_batch(work, kind, seed=seed, partitions=partitions, pairs_by_prompt=pairs_by_prompt)
    spill.write_drops(drops, seq)
    if rows is not None:
        spill.write_rows(kind, rows, seq)


def _process_batch(
    work: Work, kind: str, *, seed: int, partitions: int, pairs_by_prompt: bool = False
) -> tuple[list[pl.DataFrame], pl.DataFrame | None]:
    """Row-local work on one batch: decode, adapt, rules, keys.

    Returns the drop rows and the pair (or half-pair) rows to spill. ``pairs_by_prompt``: the build
    pairs feedback too, so ready-made pairs are partitioned by prompt (see :func:`with_keys`).
    """
    p, batch = work.plan, work.batch
    cols = work.file_columns()
    idx, source, record = cols.file_idx, cols.source, cols.record
    drops: list[pl.DataFrame] = []
    if batch.rejects.height:
        drops.append(
            batch.rejects.with_columns(
                idx.alias("_file_idx"), source.alias("source"), pl.lit(None, pl.String).alias("_field"), record.alias("_record")
            )
        )
    rows = p.shape.adapt(_apply_filters(decode(batch.lines, p.spec), p).lazy())
    # Pairs pass the generic rules here. Half-pairs (feedback, see HALF_SCHEMA) pass the same prompt
    # and response rules before they are paired: a record that breaks one is a reject with that rule's
    # reason, so it neither sinks a partner's pair nor reaches the KTO export as an unpaired row.
    names = p.shape.raw_names()  # rejects name the data's fields (`bad is missing`), not `rejected`
    rows = apply_rules(rows, responses=("response",), names=names) if p.shape.combines else apply_rules(rows, names=names)
    rows = rows.collect()
    bad = rows.filter(pl.col("_reason").is_not_null())
    if bad.height:
        drops.append(bad.with_columns(idx.alias("_file_idx"), source.alias("source"), pl.col("_line").alias("_raw"), record.alias("_record")))
    good = rows.filter(pl.col("_reason").is_null()).drop("_line", "_reason", "_field", "_detail")
    if good.height == 0:
        return drops, None
    good = good.with_columns(
        source.alias("source"),
        idx.alias("_file_idx"),
        raw_order(idx, record).alias("_order"),
        pl.concat_list(pl.struct(cols.file_name.alias("file"), record.alias("record"))).alias("lineage"),
        record.alias("_record"),
    )
    if p.shape.combines:
        return drops, with_group_keys(good.lazy(), seed=seed, partitions=partitions).collect()
    return drops, with_keys(good.lazy(), seed=seed, partitions=partitions, by_prompt=pairs_by_prompt).collect()


def _apply_filters(decoded: pl.DataFrame, p: FilePlan) -> pl.DataFrame:
    """Records failing a source's ``filters`` become ``filtered_out`` rejects (first failing filter named)."""
    for flt in p.filters:
        decoded = decoded.with_columns(
            keep_reason(pl.lit("filtered_out"), pl.lit(flt.path), pl.lit(f"filter `{flt.text}` is false"), ~flt.expr())
        )
    return decoded


def _batch_sizes(expansion: float) -> dict[str, int]:
    """A shape that writes k times what it reads gets blocks k times smaller: memory follows the output."""
    if expansion <= 1:
        return {}
    return {"block_bytes": max(MIN_BLOCK_BYTES, int(BLOCK_BYTES / expansion)), "batch_rows": max(64, int(BATCH_ROWS / expansion))}


def _pass_one(plan: BuildPlan, spill: Spill, workers: ThreadPoolExecutor, *, seed: int, partitions: int, progress: Progress) -> list[FileStats]:
    """Stream every file: each record becomes pair rows in the spill or drop rows with a reason.

    Batches are processed and spilled ``workers()`` at a time (polars releases the GIL), each under a sequence
    number reserved in reading order, so the output does not depend on thread timing. The batches of
    all files share one window: a folder of small files keeps every worker busy instead of waiting
    for each file's last batch before reading the next file, and small files read alike are joined
    into one batch (:mod:`prefdata.build.batching`).
    """
    stats = [FileStats() for _ in plan.files]
    by_prompt = any(q.shape.combines for q in plan.files)

    def batches(p: FilePlan, st: FileStats) -> Iterator[RecordBatch]:
        """``p``'s batches, counted as they are read."""
        for batch in iter_batches(p.file, **_batch_sizes(p.shape.expansion)):
            st.records += batch.records
            st.blank_lines += batch.blank_lines
            if batch.line_offsets is not None:
                st.line_offsets.append(batch.line_offsets)
            if batch.line_ends is not None:
                st.line_ends.append(batch.line_ends)
            yield batch

    def read() -> Iterator[tuple[Work, str, int]]:
        """Work in reading order (on the main thread), numbered as it is handed out."""
        joiner = Joiner()
        for p, st in zip(plan.files, stats):
            kind = f"halves-{_source_index(plan, p)}" if p.shape.combines else "pairs"
            key = join_key(p)
            file_batches = batches(p, st)
            if key is not None:  # a small file: if it is one batch, it may join others
                first = next(file_batches, None)
                second = next(file_batches, None) if first is not None else None
                if second is None:
                    if first is not None:
                        yield from ((work, kind, spill.reserve()) for work in joiner.add(key, p, first))
                    continue
                file_batches = itertools.chain([first, second], file_batches)  # a compressed file can be many batches
            yield from ((work, "pairs", spill.reserve()) for work in joiner.flush())
            for batch in file_batches:
                yield Work([p], batch), kind, spill.reserve()
        yield from ((work, "pairs", spill.reserve()) for work in joiner.flush())

    def process(item: tuple[Work, str, int]) -> Work:
        work, kind, seq = item
        _spill_batch(work, spill, kind, seq, seed=seed, partitions=partitions, pairs_by_prompt=by_prompt)
        return work

    shown = None
    for work in ordered_map(workers, process, read(), in_flight=in_flight()):
        p = work.plans[-1]
        if p is not shown:  # the display follows the batches done, not the reading ahead
            name = shown_name(p.file.name) if len(work.plans) == 1 else f"{len(work.plans):,} files to {shown_name(p.file.name)}"
            compressed = any(q.file.compression for q in work.plans)  # then bytes read are decompressed bytes
            progress.file(name, None if compressed else sum(q.file.bytes for q in work.plans))
            shown = p
        progress.advance(work.batch.bytes_read, work.batch.records)
    return stats


def _pass_two(
    plan: BuildPlan, config: BuildConfig, spill: Spill, tmp: Path, n_parts: int, file_index: dict[str, int]
) -> tuple[list[dict[str, Any]], pl.Series, Counter[str], Counter[str], bool]:
    threshold = test_threshold(config.split.test_fraction)
    combining = {_source_index(plan, p): p for p in plan.files if p.shape.combines}
    outputs: list[dict[str, Any]] = []
    keys: list[pl.Series] = []  # per partition: the records its output pairs came from
    by_source: Counter[str] = Counter()
    by_split: Counter[str] = Counter()
    kto: list[pl.DataFrame] = []
    forced_test_key = None
    # Partition k's shards are written (and hashed) by a second thread while partition k+1 is read
    # and finalized: at most two partitions are in memory, and the output order stays fixed.
    writing: list[Future] = []
    with ThreadPoolExecutor(max_workers=1) as writer:
        for bucket in range(n_parts):
            frames = []
            pairs = spill.read_rows("pairs", bucket)
            if pairs is not None:
                frames.append(pairs)
            left_over = []
            for src_idx, p in combining.items():
                halves = spill.read_rows(f"halves-{src_idx}", bucket)
                if halves is not None:
                    combined, rest = _combine(p, halves, spill, file_index, dedup=config.dedup)
                    frames.append(combined)
                    left_over.append(rest)
            if left_over:  # one partition holds every vote of a prompt, whatever its source
                rest = pl.concat(left_over, how="vertical_relaxed")
                rest = mark_repeated_unpaired(rest) if config.dedup else rest
                if rest.height:
                    spill.write_drops(lineage_drops(rest, file_index), late=True)
                if config.output.kto_export:
                    kto.append(rest.filter(pl.col("_reason") == "unpaired"))
            rows = pl.concat(frames, how="diagonal_relaxed") if frames else None
            if rows is None or rows.height == 0:
                done = None
            else:
                done = finalize_partition(
                    rows, threshold=threshold, ensure_test=n_parts == 1, file_index=file_index, drop_duplicates=config.dedup
                )
                spill.write_drops(done.drops, late=True)
                keys.append(done.record_keys)
                forced_test_key = done.forced_test_key
            outputs += [f.result() for f in writing]
            writing = []
            for split in ("train", "test"):
                frame = getattr(done, split) if done is not None else _empty_canonical()
                path = tmp / "data" / shard_name(split, bucket, n_parts)
                writing.append(writer.submit(_write_output, tmp, frame, path, split, config.output.compression))
                by_split[split] += frame.height
                for name, n in frame.group_by("source").len().iter_rows():
                    by_source[name] += n
        outputs += [f.result() for f in writing]
    if config.output.kto_export:
        outputs += _write_kto(kto, tmp, threshold, forced_test_key, config.output.compression)
    # a record whose pairs landed in several partitions is in several partitions' keys
    output_keys = pl.concat(keys).unique().sort() if keys else pl.Series("_key", [], dtype=pl.UInt64)
    return outputs, output_keys, by_source, by_split, forced_test_key is not None


KTO_SCHEMA = pl.Schema({"prompt": MESSAGES, "completion": MESSAGES, "label": pl.Boolean, "source": pl.String, "model": pl.String, "lineage": LINEAGE})
KTO_COLUMNS = tuple(KTO_SCHEMA)


def _write_kto(frames: list[pl.DataFrame], tmp: Path, threshold: int, forced_test_key: int | None, compression: str) -> list[dict[str, Any]]:
    """Unpaired feedback as TRL's unpaired preference format (prompt/completion/label), same split:
    a prompt group's rows go where its pairs went, the group a small build forced into test included."""
    rows = pl.concat(frames, how="vertical_relaxed") if frames else None
    outputs = []
    for split in ("train", "test"):
        if rows is None:
            frame = pl.DataFrame(schema=KTO_SCHEMA)
        else:
            is_test = pl.col("_split_key") < threshold
            if forced_test_key is not None:
                is_test = is_test | (pl.col("_split_key") == forced_test_key)
            frame = rows.filter(is_test if split == "test" else ~is_test).sort("_order").select(KTO_COLUMNS)
        path = tmp / "kto" / shard_name(split, 0, 1)
        write_parquet(frame, path, compression)
        outputs.append(_output_entry(tmp, path, f"kto_{split}", frame.height))
    return outputs


def _combine(
    p: FilePlan, halves: pl.DataFrame, spill: Spill, file_index: dict[str, int], *, dedup: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pair cross-record rows of one source in one partition; unpaired rows become drop rows.

    Returns the pairs (with ids) and the records left over (their drops are written by the caller,
    once the repeats across sources are known; the ``unpaired`` ones are the KTO export's).
    ``dedup=False`` (``--keep-duplicates``) keeps repeated pairs, as it does for every other shape.
    """
    combined = p.shape.combine(halves, dedup=dedup)
    rows = apply_rules(combined.pairs.lazy()).collect()
    bad = rows.filter(pl.col("_reason").is_not_null())
    if bad.height:
        spill.write_drops(lineage_drops(bad, file_index), late=True)
    good = rows.filter(pl.col("_reason").is_null()).drop("_reason", "_field", "_detail").with_columns(id_expr())
    left_over = combined.unpaired.with_columns(pl.col("lineage").list.first().alias("__first")).with_columns(
        raw_order(pl.col("__first").struct.field("file").replace_strict(file_index, return_dtype=pl.UInt64), pl.col("__first").struct.field("record")).alias("_order")
    ).drop("__first")
    return good, left_over


def _empty_canonical() -> pl.DataFrame:
    from prefdata.schema import empty_canonical

    return empty_canonical()


def _write_output(root: Path, frame: pl.DataFrame, path: Path, split: str, compression: str) -> dict[str, Any]:
    write_parquet(frame, path, compression)
    return _output_entry(root, path, split, frame.height)


def _output_entry(root: Path, path: Path, split: str | None, rows: int) -> dict[str, Any]:
    return {
        "path": path.relative_to(root).as_posix(),
        "split": split,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
    }


def _counts(
    plan: BuildPlan,
    stats: list[FileStats],
    output_keys: pl.Series,
    rejected: RejectCounts,
    rows_by_source: Counter[str],
    rows_by_split: Counter[str],
) -> dict[str, Any]:
    """Counts per stage and reason, reconciled per file: read == in output lineage + rejected."""
    files = (output_keys // (1 << RECORD_BITS)).value_counts()
    in_output = Counter(dict(files.iter_rows()))
    rejected_by_file = rejected.by_file()
    problems = []
    for p, s in zip(plan.files, stats):
        used, rej = in_output.get(p.index, 0), rejected_by_file.get(p.index, 0)
        if used + rej != s.records:
            problems.append(f"{shown_name(p.file.name)}: read {s.records}, in output lineage {used}, rejected {rej}")
    if problems:
        raise ReconciliationError("record counts do not reconcile (a bug in prefdata):\n  " + "\n  ".join(problems))
    by_source: dict[str, dict[str, Any]] = {}
    for p, s in zip(plan.files, stats):
        entry = by_source.setdefault(p.source_name, {"records_read": 0, "pairs_written": 0, "records_rejected": 0, "rejected_by_reason": {}})
        entry["records_read"] += s.records
    for name, entry in by_source.items():
        entry["pairs_written"] = rows_by_source.get(name, 0)
        entry["rejected_by_reason"] = rejected.by_reason(name)
        entry["records_rejected"] = sum(entry["rejected_by_reason"].values())
    counts: dict[str, Any] = {
        "records_read": sum(s.records for s in stats),
        "pairs_written": sum(rows_by_split.values()),
        "records_rejected": rejected.rows,
        "rejected_by_reason": rejected.by_reason(),
        "pairs_by_split": {k: rows_by_split.get(k, 0) for k in ("train", "test")},
        "by_source": by_source,
    }
    if rejected.pairs_dropped_by_reason:
        counts["pairs_dropped_by_reason"] = dict(sorted(rejected.pairs_dropped_by_reason.items()))
    return counts


def _out_folder(out: Path) -> Path:
    """The folder the build replaces, absolute and without ``.`` or ``..``.

    The build writes beside OUT and renames OUT away, so it needs OUT's real name and parent: ``.``
    has neither (its temp folder would land inside it, and ``.`` cannot be renamed). A path with
    ``..`` is resolved as the system does (``link/..`` is the link target's parent). OUT given as a
    link (to a bigger disk): the folder it points to is replaced and the link kept.
    """
    if out.is_symlink() or not out.name or ".." in out.parts:
        return Path(os.path.realpath(out))
    return Path(os.path.abspath(out))


def _same(raw: str | os.PathLike[str], out: Path) -> bool:
    return os.path.realpath(raw) == os.path.realpath(out)


def _top_entry(raw: str | os.PathLike[str], out: Path) -> str:
    """The name in OUT that holds RAW (which lies inside OUT); a glob there may match anything."""
    first = Path(os.path.realpath(raw)).relative_to(Path(os.path.realpath(out))).parts[0]
    return "data" if glob.has_magic(first) else first


def _within(raw: str | os.PathLike[str], out: Path) -> bool:
    """Whether RAW (a path, not a glob) is OUT or lies inside it."""
    try:
        return Path(os.path.realpath(raw)).is_relative_to(Path(os.path.realpath(out)))
    except (OSError, ValueError):
        return False


__all__ = ["BuildResult", "build"]
