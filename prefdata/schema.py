"""The canonical preference dataset: the one contract every stage shares.

``build`` writes it, ``check`` and ``report`` read it, ``train`` feeds it to TRL. A dataset that
someone else built is accepted as long as it has these columns with these types.

Conversational TRL format with an explicit prompt:

>>> row = {
...     "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
...     "chosen": [{"role": "assistant", "content": "4"}],
...     "rejected": [{"role": "assistant", "content": "5"}],
... }
>>> pair_id(row["prompt"], row["chosen"], row["rejected"])[:16]
'7276baeb77b19597'

Messages carry exactly ``role`` and ``content`` (no ``None``-filled extra struct fields, which
TRL's chat templating chokes on), and all three columns are message lists in every row (TRL's
``is_conversational`` looks at one example, so a mixed dataset is misread). There is never an
implicit prompt: TRL's ``extract_prompt`` splits character-wise and mis-splits pairs whose
responses share a prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import polars as pl

from prefdata.nfc import nfc
from prefdata.text_keys import BLANK

#: Roles a message may have. A prompt ends with a ``user`` or ``tool`` turn; responses are ``assistant``.
ROLES = ("system", "user", "assistant", "tool")
PROMPT_LAST_ROLES = ("user", "tool")

MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
MESSAGES = pl.List(MESSAGE)
#: Where a pair came from: the raw file (relative name, as listed in manifest.json) and the
#: 1-based record number inside it (JSONL/CSV: line/row number, JSON array: element, Parquet: row).
LINEAGE = pl.List(pl.Struct({"file": pl.String, "record": pl.Int64}))

CANONICAL_SCHEMA = pl.Schema(
    {
        "id": pl.String,
        "prompt": MESSAGES,
        "chosen": MESSAGES,
        "rejected": MESSAGES,
        "source": pl.String,
        "score_chosen": pl.Float64,
        "score_rejected": pl.Float64,
        "chosen_model": pl.String,
        "rejected_model": pl.String,
        # Pairwise sources only: which response was shown first ("a") or second ("b") was chosen,
        # so position bias can be measured. Null where the raw data has no presentation order.
        "chosen_position": pl.String,
        "lineage": LINEAGE,
    }
)
CANONICAL_COLUMNS = tuple(CANONICAL_SCHEMA.names())
#: Columns TRL must never see: datasets' image feature detection turns them into vision inputs.
FORBIDDEN_COLUMNS = ("image", "images")

#: Schema of ``rejects/*.parquet``: every raw record that did not become a pair, with why.
REJECT_SCHEMA = pl.Schema(
    {
        "file": pl.String,
        "record": pl.Int64,
        "source": pl.String,
        "reason": pl.String,
        "field": pl.String,
        "detail": pl.String,
        "raw": pl.String,
    }
)

def id_expr() -> pl.Expr:
    """The ``id`` column: sha256 of the pair's canonical JSON (see :func:`pair_id`), in one vector pass."""
    import polars_hash  # noqa: F401  (registers the ``chash`` expression namespace)

    return pl.struct("prompt", "chosen", "rejected").struct.json_encode().chash.sha2_256().alias("id")


#: A text of only :data:`~prefdata.text_keys.BLANK` characters, as an anchored regex.
_BLANK_TEXT = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in BLANK) + "]*$"


def has_blank_turn(messages: pl.Expr) -> pl.Expr:
    """Whether a message list holds a turn whose content is null or blank (null for a null list).

    Blank is :data:`~prefdata.text_keys.BLANK`: build's ``empty_field`` and check's ``role_structure``
    share it, so a turn the default suite fails as whitespace only (its ``\\S`` is Python's) never
    gets past the build. An anchored regex stops at the first non-blank character; stripping would
    copy every text.
    """
    blank = pl.element().struct.field("content").str.contains(_BLANK_TEXT).fill_null(True)
    return messages.list.eval(blank).list.any()


def trimmed_contents(messages: pl.Expr) -> pl.Expr:
    """Each turn's content in Unicode NFC with :data:`~prefdata.text_keys.BLANK` trimmed from its
    ends: two responses with equal lists are the same text (``identical_responses``), and a rated
    record's repeated completion is one completion.

    NFC makes a precomposed ``é`` and ``e`` + combining accent (the same text on screen) equal;
    only a text that can change pays for it (:func:`prefdata.nfc.nfc`).
    """
    return messages.list.eval(nfc(pl.element().struct.field("content")).str.strip_chars(BLANK))


def pair_id(prompt: Sequence[dict], chosen: Sequence[dict], rejected: Sequence[dict]) -> str:
    """Reference definition of ``id``, reproducible without prefdata.

    sha256 (hex) of ``{"prompt": [...], "chosen": [...], "rejected": [...]}`` serialized as compact
    JSON (``separators=(",", ":")``, non-ASCII kept as UTF-8), each message as ``{"role", "content"}``
    in that key order. :func:`id_expr` computes the same thing in polars; a test holds them equal.
    """

    def msgs(ms: Sequence[dict]) -> list[dict]:
        return [{"role": m["role"], "content": m["content"]} for m in ms]

    payload = {"prompt": msgs(prompt), "chosen": msgs(chosen), "rejected": msgs(rejected)}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def conform(df: pl.DataFrame | pl.LazyFrame):
    """Select and cast the canonical columns in canonical order (raises if one is missing)."""
    return df.select([pl.col(name).cast(dtype) for name, dtype in CANONICAL_SCHEMA.items()])


def empty_canonical() -> pl.DataFrame:
    return pl.DataFrame(schema=CANONICAL_SCHEMA)
