"""The Hugging Face dataset card (``OUT/README.md``).

The YAML header is what the Hub (and ``datasets.load_dataset(OUT)``) reads to map splits to files, so
it is generated from the manifest's outputs, never written by hand. ``prefdata report`` re-renders
the card with a quality summary and a link to the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPORT_LINK = "report.html"


def card_header(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The card's YAML metadata: licence placeholder, task categories, and the split -> files map."""
    splits: dict[str, list[str]] = {}
    for out in manifest.get("outputs", []):
        if out.get("split"):
            splits.setdefault(out["split"], []).append(out["path"])
    data_files = [{"split": split, "path": "data/" + f"{split}-*.parquet"} for split in sorted(splits, key=_split_order)]
    return {
        "license": "other",  # placeholder: set the licence of your raw data before publishing
        "task_categories": ["text-generation"],
        "tags": ["dpo", "preference", "rlhf", "prefdata"],
        "configs": [{"config_name": "default", "data_files": data_files}],
    }


def _split_order(split: str) -> tuple[int, str]:
    return ({"train": 0, "validation": 1, "test": 2}.get(split, 3), split)


def render_card(manifest: Mapping[str, Any], *, summary_markdown: str | None = None, report_link: str | None = None) -> str:
    """Render ``README.md`` for a dataset directory from its manifest.

    ``summary_markdown`` (from ``prefdata report``) is inserted as a "Quality" section, and
    ``report_link`` adds a link to the HTML report next to the card.
    """
    counts = manifest.get("counts", {})
    header = yaml.safe_dump(card_header(manifest), sort_keys=False, allow_unicode=True).strip()
    lines = [
        "---",
        header,
        "---",
        "",
        "# Preference dataset",
        "",
        f"Built by [prefdata](https://github.com/) {manifest.get('prefdata_version', '')} from "
        f"{len(manifest.get('inputs', []))} raw file(s). Conversational format with an explicit prompt: "
        "`prompt` is a list of `{role, content}` messages ending with a user turn, `chosen` and `rejected` "
        "are lists of assistant messages; ready for TRL's `DPOTrainer`.",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder")',
        "```",
        "",
        "## Counts",
        "",
        "| | |",
        "|---|---|",
        f"| records read | {counts.get('records_read', 0):,} |",
        f"| pairs written | {counts.get('pairs_written', 0):,} |",
        f"| records rejected | {counts.get('records_rejected', 0):,} |",
    ]
    for split, n in counts.get("pairs_by_split", {}).items():
        lines.append(f"| {split} pairs | {n:,} |")
    by_reason = counts.get("rejected_by_reason", {})
    if by_reason:
        lines += ["", "Rejected records by reason (see `rejects/`):", ""]
        lines += [f"- `{reason}`: {n:,}" for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))]
    inputs = manifest.get("inputs", [])
    if inputs:
        lines += ["", "## Sources", "", "| file | source | shape | records | sha256 |", "|---|---|---|---|---|"]
        for item in inputs:
            lines.append(
                f"| `{item['path']}` | {item.get('source', '')} | {item.get('shape', '')} | "
                f"{item.get('records', 0):,} | `{item.get('sha256', '')[:12]}` |"
            )
    if summary_markdown:
        lines += ["", "## Quality", "", summary_markdown.strip()]
    if report_link:
        lines += ["", f"Full quality report: [{report_link}]({report_link})"]
    lines += ["", "Provenance (tool version, config, input and output hashes) is in `manifest.json`.", ""]
    return "\n".join(lines)


def write_card(out_dir: str | Path, manifest: Mapping[str, Any], **kwargs: Any) -> Path:
    """Write ``out_dir/README.md`` (see :func:`render_card` for the options)."""
    path = Path(out_dir) / "README.md"
    path.write_text(render_card(manifest, **kwargs), encoding="utf-8")
    return path
