"""The Hugging Face dataset card (``OUT/README.md``).

The YAML header is what the Hub (and ``datasets.load_dataset(OUT)``) reads to map splits to files, so
its ``configs`` and ``size_categories`` are generated from the manifest's outputs, never written by
hand. ``prefdata report`` re-renders the card with a quality summary and a link to the report. What a
user added to the card a rebuild or a report replaces is kept (:class:`UserEdits`): the header as they
wrote it (the ``license`` the card asks them to set), character for character but for those two keys,
and the text outside the two marks around what prefdata writes.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from prefdata.card_configs import YAML_BLOCK
from prefdata.config_files import load_card_yaml

#: The HTML report ``prefdata report`` writes beside the card, which the card links to.
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
    "with a user or tool turn, `chosen` and `rejected` are lists of assistant messages; ready for TRL's `DPOTrainer`."
)


@dataclass(frozen=True)
class UserEdits:
    """What a user wrote in a card prefdata wrote, kept when the card is rendered again (a rebuild, a
    report): the YAML header as they left it (:func:`header_text` replaces only :data:`COMPUTED_KEYS`
    in it) and the text before :data:`BEGIN_MARK` and after :data:`END_MARK` (a title, a description).
    A card without the marks gets prefdata's text back, its header kept.

    ``header`` is the text between the header's ``---`` lines (None: the card has none, or an empty one).
    ``problem`` says why it cannot be updated (YAML that does not parse, a header that is no mapping):
    it is then written back as it is, and :meth:`warning` says so; the user's licence is never replaced
    by the placeholder because of one slip."""

    header: str | None = None
    problem: str | None = None
    intro: str | None = None
    after: str | None = None
    #: The card, for :meth:`warning`.
    card: str = "README.md"

    @classmethod
    def read(cls, card: Path) -> UserEdits:
        """The edits in ``card``; none when it is missing or unreadable."""
        try:
            text = card.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return cls()
        return cls.parse(text, str(card))

    @classmethod
    def parse(cls, text: str, card: str = "README.md") -> UserEdits:
        header = problem = None
        if match := YAML_BLOCK.match(text):
            header = match.group(2)
            # the lines above it first, so that the error's line numbers are the card's
            lines_above = "\n" * len(re.findall(r"\r\n|\r|\n", match.group(1)))
            try:
                loaded = load_card_yaml(lines_above + header, card)
            except yaml.YAMLError as exc:
                problem = f"its YAML header does not parse ({' '.join(str(exc).split())})"
            else:
                if loaded is None:  # empty, or comments only: prefdata's header
                    header = None
                elif not isinstance(loaded, dict):
                    problem = f"its YAML header is a {type(loaded).__name__}, not a mapping of keys"
            text = text[match.end():]
        begin = text.find(BEGIN_MARK)
        end = text.find(END_MARK, begin + 1) if begin >= 0 else -1
        if end < 0:
            return cls(header, problem, card=card)
        return cls(header, problem, text[:begin].strip(), text[end + len(END_MARK):].strip(), card)

    def warning(self) -> str | None:
        """Why the card's header is written back unchanged, for a ``warning:`` line; None when it is updated."""
        if self.problem is None:
            return None
        return (f"{self.card}: {self.problem}; it is kept as written, without this dataset's "
                f"{' and '.join(sorted(COMPUTED_KEYS))}: fix it, then run `prefdata report` on the dataset")


def computed_header(manifest: Mapping[str, Any], shards: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The header keys the card computes (:data:`COMPUTED_KEYS`): the size bucket and the split -> files map.

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
        config: dict[str, Any] | None = None
        if splits:
            config = {"config_name": name, "data_files": [{"split": split, "path": f"{folder}/{split}-*.parquet"} for split in splits]}
        elif name == "default" and sum(out.get("rows", 0) for out in _kto_outputs(manifest)):
            config = {"config_name": name, "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}
        if config is not None:
            digest = _shards_digest(manifest, folder, shards)
            configs.append(config if digest is None else {**config, "description": f"prefdata shards {digest}"})
    header: dict[str, Any] = {}
    pairs = manifest.get("counts", {}).get("pairs_written")
    if isinstance(pairs, int):
        header["size_categories"] = [size_category(pairs)]
    if configs:  # none: the loader names splits by file name (a dataset prefdata did not build)
        header["configs"] = configs
    return header


def _shards_digest(manifest: Mapping[str, Any], folder: str, on_disk: Mapping[str, str] | None = None) -> str | None:
    """A digest of the shards under ``folder`` (their names and sha256s: ``on_disk``'s, ``{path in the
    dataset: sha256}`` of the files there, or else the manifest's outputs), for the config's
    ``description``: ``datasets`` caches a local folder whose card has ``configs`` by the folder's name
    and the card's header alone, not by its files, so ``load_dataset(OUT)`` after a rebuild handed out
    the rows of the build it loaded first (or of any other folder of that name). The digest changes the
    header, and so the cache, exactly when the shards change (``report`` passes the files on disk, so a
    shard edited or added by hand changes it too). None when the manifest lacks a sha256."""
    if on_disk is not None:
        shards = [(path, sha) for path, sha in on_disk.items() if path.startswith(folder + "/")]
    else:
        shards = [(out.get("path"), out.get("sha256")) for out in manifest.get("outputs", [])
                  if isinstance(out, Mapping) and str(out.get("path", "")).startswith(folder + "/")]
    if not shards or not all(isinstance(path, str) and isinstance(sha, str) for path, sha in shards):
        return None
    shards.sort()
    listing = "".join(f"{path}\t{sha}\n" for path, sha in shards)
    return hashlib.sha256(listing.encode("utf-8", "surrogatepass")).hexdigest()[:16]  # a name not UTF-8 too


#: The header of a card the user has not given one: a licence placeholder and the task, before the computed keys.
DEFAULT_HEADER: dict[str, Any] = {
    "license": LICENSE_PLACEHOLDER,  # placeholder: set the licence of your raw data before publishing
    "task_categories": ["text-generation"],
    "tags": ["dpo", "preference", "rlhf", "prefdata"],
}


def header_text(manifest: Mapping[str, Any], edits: UserEdits | None = None, shards: Mapping[str, str] | None = None) -> str:
    """The card's YAML header (without its ``---`` lines).

    Without a header of the user's, :data:`DEFAULT_HEADER` and the computed keys. With one, its text
    as written, with only the computed keys' entries replaced (or added at the end): a round trip
    through a YAML library would rewrite the user's values (PyYAML's YAML 1.1 reads ``no`` as false,
    ``0755`` as 493, ``1.10`` as 1.1, and writes them back so), their order, quoting and comments.
    A header that does not parse is written back as it is (:attr:`UserEdits.problem`).
    """
    computed = computed_header(manifest, shards)
    if edits is None or edits.header is None:
        return _dump({**DEFAULT_HEADER, **computed})
    if edits.problem is not None:
        return edits.header
    return _spliced(edits.header, computed)


def _dump(fields: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(fields), sort_keys=False, allow_unicode=True)


def _spliced(header: str, computed: Mapping[str, Any]) -> str:
    """``header`` (a YAML mapping that parses) with the entries of :data:`COMPUTED_KEYS` replaced by
    ``computed``'s (dropped where it has none) and ``computed``'s other keys added at the end; every
    other character as it was."""
    text = header if header.endswith("\n") else header + "\n"
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode) or node.flow_style:  # `{license: mit}` on one line
        fields = {k: v for k, v in load_card_yaml(text).items() if k not in COMPUTED_KEYS}
        return _dump({**fields, **computed})
    # each entry from the start of its key's line to the next key's line (a block mapping's keys start lines)
    starts = [key.start_mark.index - key.start_mark.column for key, _ in node.value] + [len(text)]
    pieces, done, at = [], set(), 0
    for i, (key, _) in enumerate(node.value):
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name not in COMPUTED_KEYS:
            continue
        end = _entry_end(text, starts[i], starts[i + 1], key.start_mark.column)
        pieces.append(text[at:starts[i]])
        if name in computed and name not in done:
            pieces.append(textwrap.indent(_dump({name: computed[name]}), " " * key.start_mark.column))
        done.add(name)
        at = end
    pieces.append(text[at:])
    if added := {k: v for k, v in computed.items() if k not in done}:
        pieces.append(textwrap.indent(_dump(added), " " * node.value[0][0].start_mark.column if node.value else ""))
    spliced = "".join(pieces)
    # a layout the splice does not foresee (an explicit `? configs` key) must not leave a header that
    # no longer parses: then the header is written anew, its values kept and its layout lost
    wanted = {k: v for k, v in load_card_yaml(text).items() if k not in COMPUTED_KEYS} | dict(computed)
    try:
        if load_card_yaml(spliced) == wanted:
            return spliced
    except yaml.YAMLError:
        pass
    return _dump(wanted)


def _entry_end(text: str, start: int, end: int, column: int) -> int:
    """Where the entry in ``text[start:end]`` ends: the comment and blank lines that close the span (no
    deeper than its key, at ``column``) stand above the next key, and stay."""
    lines = text[start:end].splitlines(keepends=True)
    while len(lines) > 1 and (not lines[-1].strip() or (lines[-1].lstrip().startswith("#") and len(lines[-1]) - len(lines[-1].lstrip()) <= column)):
        end -= len(lines.pop())
    return end


def _licence(header: str) -> Any:
    """The ``license`` the Hub reads in ``header`` (None: none, or a header that does not parse)."""
    try:
        fields = load_card_yaml(header)
    except yaml.YAMLError:
        return None
    return fields.get("license") if isinstance(fields, dict) else None


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


#: Explicit bidi controls: embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069); and
#: the C0 and C1 control characters but tab, line feed and carriage return, and DEL.
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible_controls(text: str) -> str:
    """``text`` with its explicit bidi controls and its control characters written out (U+202E as
    ``\\u202e``, ESC as ``\\u001b``).

    Left in, a bidi control from the data (a right-to-left override in a file name) reorders what
    follows it: in a terminal the rest of the line, so the counts after a name in a table row read
    backwards. An ESC starts a terminal sequence: ``cat report.md`` would set the window title, clear
    the screen or print a link the data chose. Written out, nothing acts, and the reader sees that
    the text holds such a character.
    """
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def markdown_text(text: Any) -> str:
    """Text from the data for Markdown prose or a table cell, on one line. Renderers pass raw HTML
    through and read ``![x](url)`` as a remote image, so ``&<>`` become entities and Markdown's
    punctuation is backslash-escaped: names and reasons from other tools' files show as written.
    Bidi controls and control characters are written out (:func:`visible_controls`)."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = visible_controls(_MD_PUNCT.sub(r"\\\1", s))  # after: its backslash shows as is (\u is no escape)
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
    manifest: Mapping[str, Any], *, summary_markdown: str | None = None, report_link: str | None = None, edits: UserEdits | None = None,
    shards: Mapping[str, str] | None = None,
) -> str:
    """Render ``README.md`` for a dataset directory from its manifest.

    ``summary_markdown`` (from ``prefdata report``) is inserted as a "Quality" section, and
    ``report_link`` adds a link to the HTML report next to the card. ``edits``: what the user added
    to the card this one replaces (:meth:`UserEdits.read`), kept. ``shards``: ``{path: sha256}`` of the
    shards on disk, for the configs' digest (default: the manifest's outputs).
    """
    counts = manifest.get("counts", {})
    header = header_text(manifest, edits, shards).rstrip("\r\n")
    licence = (("**Licence:** `license: other` in the header is a placeholder: set the licence of the raw data "
               "before publishing.") if _licence(header) == LICENSE_PLACEHOLDER else None)
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
