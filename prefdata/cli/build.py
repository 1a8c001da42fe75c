"""``prefdata build RAW OUT``: parse options, call :func:`prefdata.build`, print a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from prefdata.build.output import MAX_PARTITIONS
from prefdata.cli.common import NonEmptyPath, OnceEach, fail_on_prefdata_errors

if TYPE_CHECKING:
    from prefdata.config import BuildConfig, SourceBase

#: Without --config the build prints the config it used, one source per file, up to this many.
MAX_PRINTED_SOURCES = 20


@click.command("build", cls=OnceEach)
@click.argument("raw", type=NonEmptyPath())
@click.argument("out", type=NonEmptyPath())
@click.option("--config", "config_path", type=NonEmptyPath(dir_okay=False), help="YAML build config (default: detect each file's shape).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), help="Share of prompt groups in the test split [default: 0.05].")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), help="Seed of the split [default: 0].")
@click.option("--keep-duplicates", is_flag=True, help="Keep exact duplicate pairs instead of rejecting them (prefdata check then fails on exact_duplicates, an error, so train needs --no-check).")
@click.option("--partitions", type=click.IntRange(1, MAX_PARTITIONS), help=f"Hash partitions = shards per split, each written even when empty [default: one per 256 MB of input or 500,000 pairs, whichever gives more; at most {MAX_PARTITIONS:,}, as shard names have five digits].")
@click.option("--quiet", "-q", is_flag=True, help="No progress display and no summary.")
def command(raw: str, out: str, config_path: str | None, test_fraction: float | None, seed: int | None, keep_duplicates: bool, partitions: int | None, quiet: bool) -> None:
    """Turn raw feedback logs (file, folder or glob) into a validated preference dataset in OUT."""
    import prefdata

    log = None if quiet else (lambda msg: click.echo(msg, err=True))
    with fail_on_prefdata_errors():
        result = prefdata.build(
            raw,
            out,
            config=config_path,
            test_fraction=test_fraction,
            seed=seed,
            dedup=False if keep_duplicates else None,
            partitions=partitions,
            quiet=quiet,
            log=log,
        )
    c = result.counts
    if c["pairs_written"] == 0:  # said even with --quiet: the dataset is empty and `load_dataset` will refuse it
        click.echo(
            f"warning: no pair was written: {_all_records(c['records_read'])} rejected "
            f"({', '.join(f'{r}: {n:,}' for r, n in sorted(c['rejected_by_reason'].items()))}); see {result.out}/rejects/",
            err=True,
        )
    if quiet:
        return
    split = c["pairs_by_split"]
    click.echo(
        f"{c['records_read']:,} record{'' if c['records_read'] == 1 else 's'} read -> "
        f"{c['pairs_written']:,} pair{'' if c['pairs_written'] == 1 else 's'} "
        f"(train {split['train']:,}, test {split['test']:,}), {c['records_rejected']:,} rejected"
    )
    for reason, n in sorted(c["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {reason}: {n:,}")
    kto = "kto/, " if (Path(result.out) / "kto").is_dir() else ""  # the KTO export's unpaired rows
    click.echo(f"wrote {result.out}/ (data/, {kto}rejects/, manifest.json, README.md)")
    if config_path is None:
        if len(result.config.sources) > MAX_PRINTED_SOURCES:
            click.echo(_settings_summary(result.config), err=True)
        else:
            click.echo("\nconfig used (save it as a file and pass --config to edit it):", err=True)
            click.echo(result.config_yaml.rstrip(), err=True)


def _all_records(n: int) -> str:
    return "the 1 record was" if n == 1 else f"all {n:,} records were"


def _settings_summary(config: BuildConfig) -> str:
    """A config of one source per file, too long to print, as each distinct setting once with the
    files that use it: what was guessed (a verdict encoding, a column) is still shown."""
    from prefdata.config import BuildConfig, dump_config

    groups: dict[str, list[SourceBase]] = {}
    for source in config.sources:
        groups.setdefault(source.settings_key(), []).append(source)
    lines = [
        (
            f"\nconfig used: {len(config.sources):,} sources, one per file, in {len(groups):,} setting(s); each setting "
            "once, without the sources' `name` and `path` (the whole config, which gives this build again with "
            "--config, is `config` in OUT/manifest.json; `prefdata inspect RAW` prints each file's):"
        )
    ]
    for members in groups.values():
        first, last = members[0].path, members[-1].path
        lines.append(f"# 1 file: {first}" if len(members) == 1 else f"# {len(members):,} files, the first {first}, the last {last}")
        setting = BuildConfig(sources=[members[0].settings()])
        lines.append(dump_config(setting).removeprefix("sources:\n").rstrip())
    return "\n".join(lines)
