"""The Hugging Face dataset card (``OUT/README.md``).

The YAML header is what the Hub (and ``datasets.load_dataset(OUT)``) reads to map splits to files, so
its ``configs`` and ``size_categories`` are generated from the manifest's outputs, never written by
hand. ``prefdata report`` re-renders the card with a quality summary and a link to the report. What a
user added to the card a rebuild or a report replaces is kept (:class:`UserEdits`): every other header
key (the ``license`` the card asks them to set) and the text outside the two marks around what
prefdata writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prefdata.card_configs import YAML_BLOCK

REPORT_LINK = "report.html"


#: Header keys the card computes from the files; a user's value for any other key is kept.
COMPUTED_KEYS = frozenset({"configs", "size_categories"})
LICENSE_PLACEHOLDER = "other"
#: The lines around the part of the card prefdata writes; the text before and after them is the user's.
BEGIN_MARK = ("<!-- prefdata writes the text from here to the matching end line again at each build and report; "
              "edit the title and text above it, or add below the end line -->")
END_MARK = "<!-- end of the text prefdata writes -->"
DEFAULT_INTRO = (
    "# Preference dataset\n\n"
    "Conversational format with an explicit prompt: `prompt` is a list of `{role, content}` messages ending "
    "with a user turn, `chosen` and `rejected` are lists of assistant messages; ready for TRL's `DPOTrainer`."
)


@dataclass(frozen=True)
class UserEdits:
    """What a user wrote in a card prefdata wrote, kept when the card is rendered again (a rebuild, a
    report): the header's keys other than :data:`COMPUTED_KEYS` (the ``license`` the card asks them to
    set, ``pretty_name``, ``language``) and the text before :data:`BEGIN_MARK` and after
    :data:`END_MARK` (a title, a description). A card without the marks is rewritten whole."""

    header: dict[str, Any] = field(default_factory=dict)
    intro: str | None = None
    after: str | None = None

    @classmethod
    def read(cls, card: Path) -> UserEdits:
        """The edits in ``card``; none when it is missing or unreadable."""
        try:
            text = card.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return cls()
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str) -> UserEdits:
        header: dict[str, Any] = {}
        if match := YAML_BLOCK.match(text):
            try:
                loaded = yaml.safe_load(match.group(2))
            except yaml.YAMLError:
                loaded = None
            if isinstance(loaded, dict):
                header = {k: v for k, v in loaded.items() if k not in COMPUTED_KEYS}
            text = text[match.end():]
        begin = text.find(BEGIN_MARK)
        end = text.find(END_MARK, begin + 1) if begin >= 0 else -1
        if end < 0:
            return cls(header)
        return cls(header, text[:begin].strip(), text[end + len(END_MARK):].strip())


def card_header(manifest: Mapping[str, Any], edits: UserEdits | None = None) -> dict[str, Any]:
    """The card's YAML metadata: licence placeholder, task categories, and the split -> files map.

    The ``default`` config is the preference pairs under ``data/``; a build with the KTO export adds
    a ``kto`` config (``load_dataset(OUT, "kto")``) for the unpaired rows under ``kto/``. A split
    with no rows at all is left out: ``datasets`` refuses to load an empty split. With no pairs at
    all the ``default`` config still names ``data/train``: ``datasets`` takes a lone config as the
    default, so ``load_dataset(OUT)`` would hand out the KTO rows (thumbs-down replies included, a
    valid SFT dataset) where it should fail ("corresponds to no data").
    """
    configs = []
    for name, folder in (("default", "data"), ("kto", "kto")):
        splits = sorted(
            {
                out["path"].split("/", 1)[1].split("-", 1)[0]
                for out in manifest.get("outputs", [])
                if out.get("split") and out["path"].startswith(folder + "/") and out.get("rows", 1) > 0
            },
            key=_split_order,
        )
        if splits:
            configs.append({"config_name": name, "data_files": [{"split": split, "path": f"{folder}/{split}-*.parquet"} for split in splits]})
        elif name == "default" and sum(out.get("rows", 0) for out in _kto_outputs(manifest)):
            configs.append({"config_name": name, "data_files": [{"split": "train", "path": "data/train-*.parquet"}]})
    header: dict[str, Any] = {
        "license": LICENSE_PLACEHOLDER,  # placeholder: set the licence of your raw data before publishing
        "task_categories": ["text-generation"],
        "tags": ["dpo", "preference", "rlhf", "prefdata"],
    }
    header.update(edits.header if edits else {})
    pairs = manifest.get("counts", {}).get("pairs_written")
    if isinstance(pairs, int):
        header["size_categories"] = [size_category(pairs)]
    if configs:  # none: the loader names splits by file name (a dataset prefdata did not build)
        header["configs"] = configs
    return header


def _kto_outputs(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The manifest's outputs of the KTO export (``kto/``), each with its ``rows``."""
    return [out for out in manifest.get("outputs", []) if out.get("path", "").startswith("kto/")]


#: The Hub's ``size_categories`` buckets (upper bounds, exclusive), smallest first.
_SIZE_BUCKETS = [(10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                 (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                 (10**11, "10B<n<100B"), (10**12, "100B<n<1T")]


def size_category(rows: int) -> str:
    """The Hub's size bucket for ``rows`` examples (``n<1K``, ``1K<n<10K``, ..., ``n>1T``)."""
    return next((label for bound, label in _SIZE_BUCKETS if rows < bound), "n>1T")


#: The card's table of sources lists this many input files; the rest are counted in one row (a folder
#: of 20,000 conversation files would make the card a 20,000-row table).
MAX_CARD_FILES = 50


#: Markdown punctuation that would turn data text into markup (links, images, emphasis, code, tables).
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~#])")


#: Explicit bidi controls: embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def visible_bidi(text: str) -> str:
    """``text`` with its explicit bidi controls written out (U+202E as ``\\u202e``).

    Left in, one from the data (a right-to-left override in a file name) reorders what follows it:
    in a terminal the rest of the line, so the counts after a name in a table row read backwards.
    Written out, nothing is reordered and the reader sees that the text holds such a control.
    """
    return _BIDI_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def markdown_text(text: Any) -> str:
    """Text from the data for Markdown prose or a table cell, on one line. Renderers pass raw HTML
    through and read ``![x](url)`` as a remote image, so ``&<>`` become entities and Markdown's
    punctuation is backslash-escaped: names and reasons from other tools' files show as written.
    Bidi controls are written out (:func:`visible_bidi`)."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = visible_bidi(_MD_PUNCT.sub(r"\\\1", s))  # after: its backslash shows as is (\u is no escape)
    return re.sub(r"\s*[\r\n]+\s*", " ", s)


def _cell(text: Any) -> str:
    """A name from the manifest (or a reason from ``rejects/``) for the card, on one line."""
    return " ".join(markdown_text(text).split())


def _split_order(split: str) -> tuple[int, str]:
    return ({"train": 0, "validation": 1, "test": 2}.get(split, 3), split)


def _count(value: Any) -> str:
    """A count for the card's table; ``unknown`` where the manifest has none (``prefdata report`` writes
    cards for datasets without a build manifest, whose read count no file records): never a made-up 0."""
    return f"{value:,}" if isinstance(value, int) else "unknown"


def _provenance(manifest: Mapping[str, Any]) -> str:
    """Who built the data, said only when the manifest says it: ``prefdata report`` also writes cards for
    datasets other tools built."""
    version = manifest.get("prefdata_version")
    if not version:
        return "Provenance unknown: no prefdata build manifest."
    return f"Built by prefdata {version} from {len(manifest.get('inputs', []))} raw file(s)."


#: The last line of a card ``prefdata report`` writes for a dataset without a build manifest: it
#: rewrites a card that still holds it, and leaves one without it (the user's own) as it is.
REPORT_CARD_MARK = ("<!-- written by `prefdata report` (no build manifest): each report rewrites this card; "
                    "delete this line to keep it as it is -->")


def render_card(
    manifest: Mapping[str, Any], *, summary_markdown: str | None = None, report_link: str | None = None, edits: UserEdits | None = None
) -> str:
    """Render ``README.md`` for a dataset directory from its manifest.

    ``summary_markdown`` (from ``prefdata report``) is inserted as a "Quality" section, and
    ``report_link`` adds a link to the HTML report next to the card. ``edits``: what the user added
    to the card this one replaces (:meth:`UserEdits.read`), kept.
    """
    counts = manifest.get("counts", {})
    fields = card_header(manifest, edits)
    header = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True).strip()
    licence = (("**Licence:** `license: other` in the header is a placeholder: set the licence of the raw data "
               "before publishing.") if fields.get("license") == LICENSE_PLACEHOLDER else None)
    lines = [
        "---",
        header,
        "---",
        "",
        edits.intro if edits and edits.intro is not None else DEFAULT_INTRO,
        "",
        BEGIN_MARK,
        "",
        _provenance(manifest),
        "",
        *([licence, ""] if licence else []),
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder")',
        "```",
        "",
        "## Counts",
        "",
        "| | |",
        "|---|---|",
        f"| records read | {_count(counts.get('records_read'))} |",
        f"| pairs written | {_count(counts.get('pairs_written'))} |",
        f"| records rejected | {_count(counts.get('records_rejected'))} |",
    ]
    for split, n in counts.get("pairs_by_split", {}).items():
        lines.append(f"| {_cell(split)} pairs | {n:,} |")
    if kto := _kto_outputs(manifest):
        lines.append(f"| unpaired rows for KTO (`kto/`, `load_dataset(folder, \"kto\")`) | {sum(out.get('rows', 0) for out in kto):,} |")
    by_reason = counts.get("rejected_by_reason", {})
    if by_reason:
        lines += ["", "Rejected records by reason (see `rejects/`):", ""]
        lines += [f"- {_cell(reason)}: {n:,}" for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))]
    inputs = manifest.get("inputs", [])
    if inputs:
        lines += ["", "## Sources", "", "| file | source | shape | records | sha256 |", "|---|---|---|---|---|"]
        for item in inputs[:MAX_CARD_FILES]:
            lines.append(
                f"| {_cell(item['path'])} | {_cell(item.get('source', ''))} | {_cell(item.get('shape', ''))} | "
                f"{item.get('records', 0):,} | `{item.get('sha256', '')[:12]}` |"
            )
        if rest := inputs[MAX_CARD_FILES:]:
            lines.append(f"| {len(rest):,} more files (all in `manifest.json`) | | | {sum(i.get('records', 0) for i in rest):,} | |")
    if summary_markdown or report_link:
        lines += ["", "## Quality"]
    if report_link:
        lines += ["", (f"Full quality report with plots, check results and sample pairs: [{report_link}]({report_link}) "
                  "(Markdown version: [report.md](report.md)).")]
    if summary_markdown:
        lines += ["", summary_markdown.strip()]
    if manifest.get("prefdata_version"):  # else _provenance said it is unknown: there is no build manifest to point at
        lines += ["", "Provenance (tool version, config, input and output hashes) is in `manifest.json`."]
    else:
        lines += ["", REPORT_CARD_MARK]
    lines += ["", END_MARK]
    if edits and edits.after:
        lines += ["", edits.after]
    lines.append("")
    return "\n".join(lines)
