"""What TRL's DPO preprocessing does to each pair with a given tokenizer and ``max_length``.

The pairs are tokenized exactly as ``trl.DPOTrainer`` 1.x does for conversational data
(``apply_chat_template(prompt, add_generation_prompt=True)`` for the prompt,
``apply_chat_template(prompt + chosen)`` and ``prompt + rejected`` for the sequences, the completion
starting where prompt and sequence ids diverge, ``truncation_mode="keep_start"``). The tokenization
itself is the tokenizer's batched call, once per distinct conversation; everything after it is list
expressions in polars.

- ``truncation_dropped``: TRL drops pairs whose (effective) prompt alone reaches ``max_length``
  ("Dropping fully truncated examples"); they silently vanish from training.
- ``truncation_identical``: after cutting prompt+response to ``max_length`` the chosen and rejected
  tokens are identical — the difference lies past the cut, or the tokenizer and template erase it
  (a template that drops reasoning before ``</think>``, characters a tokenizer without byte fallback
  reads as one unknown token) — so the pair gives no signal. Pairs whose message lists are equal
  are ``identical_responses``' and are not counted again.
- ``chat_template_roundtrip``: the templated prompt is not a token prefix of templated
  prompt+response (a template that renders the generation prompt differently, or tokens merging
  across the boundary); TRL then trains on a context that differs from the one used at inference.
- ``double_bos``: a templated sequence starts with the BOS token twice (a template that emits BOS
  plus content that starts with a literal BOS string, e.g. copied from raw logs).

Only these checks import ``transformers``, and only when ``--tokenizer`` is given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural, share, skipped
from prefdata.check.checks.pairs import same_responses
from prefdata.check.config import CheckConfig
from prefdata.check.errors import InputFileError
from prefdata.check.results import CheckOutcome

CHECK_IDS = ("truncation_dropped", "truncation_identical", "chat_template_roundtrip", "double_bos")
BATCH_ROWS = 512
IDS = pl.List(pl.Int64)
MAX_TOKENS = 2**31 - 1
TOKENIZED = pl.Schema({"_row": pl.Int64, "p": IDS, "pc": IDS, "pr": IDS, "same": pl.Boolean})


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    return {}  # its own pass, only when a tokenizer is given


def load_tokenizer(path: str | Path):
    """A local tokenizer with a chat template (no hub download)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: tokenizer directory not found")
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/... for unreadable tokenizers
        raise InputFileError(f"{path}: cannot load tokenizer: {exc}") from exc
    if not getattr(tok, "chat_template", None):
        raise InputFileError(f"{path}: tokenizer has no chat template; TRL needs one for conversational pairs")
    return tok


def _messages(value: list[dict] | None) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in (value or [])]


def _well_formed(messages: list[dict | None] | None) -> bool:
    """A non-empty message list with a string role and content in every message.

    Anything else (a null message, a null content) cannot be templated the way TRL would: chat templates
    render ``None`` as the text "None" or raise. ``role_structure`` and ``trl_traps`` report those pairs;
    here they are counted as not tokenized instead of aborting the run.
    """
    return bool(messages) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages
    )


def tokenizable(row: dict) -> bool:
    return all(_well_formed(row[c]) for c in ("prompt", "chosen", "rejected"))


class TemplateFailure(str):
    """The message of a chat template that raised on a conversation, in place of its token ids."""


def templated_ids(tok, conversations: list[list[dict]], **kwargs) -> list[list[int] | TemplateFailure]:
    """``apply_chat_template`` token ids of each conversation, each distinct conversation tokenized once
    (a :class:`TemplateFailure` for one the template raises on).

    Shapes that make several pairs of one record (rated, ranked, tree, feedback) repeat the prompt in
    every pair, and each prompt + response in several pairs (as chosen in one, rejected in another);
    their pairs sit next to each other, so a batch tokenizes each once. Tokenizing is nearly all the
    cost of these checks.
    """
    index: dict[tuple[tuple[str, str], ...], int] = {}
    distinct: list[list[dict]] = []
    where = []
    for conversation in conversations:
        key = tuple((m["role"], m["content"]) for m in conversation)
        i = index.setdefault(key, len(distinct))
        if i == len(distinct):
            distinct.append(conversation)
        where.append(i)
    try:
        ids = tok.apply_chat_template(distinct, tokenize=True, return_dict=True, **kwargs)["input_ids"]
    except Exception:  # noqa: BLE001 - templates raise anything (jinja's TemplateError, their own raise_exception)
        ids = [_one(tok, conversation, **kwargs) for conversation in distinct]
    return [ids[i] for i in where]


def _one(tok, conversation: list[dict], **kwargs) -> list[int] | TemplateFailure:
    """One conversation's ids, or why the chat template refused it: a template that raises on some
    data (Gemma's "System role not supported", "Conversation roles must alternate") would stop TRL
    at that pair, so it is a finding about the pair, not a reason to give up on the dataset."""
    try:
        return tok.apply_chat_template(conversation, tokenize=True, return_dict=True, **kwargs)["input_ids"]
    except Exception as exc:  # noqa: BLE001 - see templated_ids
        return TemplateFailure(" ".join(str(exc).split()) or type(exc).__name__)


def tokenize(ctx: Context, tok) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per pair: ``p`` (templated prompt ids), ``pc``/``pr`` (templated prompt+chosen/rejected ids),
    ``same`` (chosen and rejected are the same text, as ``identical_responses`` compares them); and, apart, the pairs the chat template
    raises on (``_row``, ``error``)."""
    lf = ctx.dataset.scan().select(
        pl.col("_row").cast(pl.Int64), "prompt", "chosen", "rejected", same=same_responses()  # as identical_responses counts them
    )
    frames, failed = [], []
    ctx.progress.phase(f"checks: tokenizing pairs as TRL does (max_length {ctx.options.max_length})", total=ctx.frame.height)
    for batch in lf.collect_batches(chunk_size=BATCH_ROWS):
        ctx.progress.advance(batch.height)
        rows = batch.to_dicts()
        ok = [r for r in rows if tokenizable(r)]  # role_structure and trl_traps report the rest
        if not ok:
            continue
        prompts = [_messages(r["prompt"]) for r in ok]
        p = templated_ids(tok, prompts, add_generation_prompt=True)
        # one call for both sides: a response chosen in one pair is often rejected in another
        sequences = templated_ids(tok, [pm + _messages(r[side]) for side in ("chosen", "rejected") for pm, r in zip(prompts, ok)])
        pc, pr = sequences[: len(ok)], sequences[len(ok) :]
        rows = {"_row": [], "p": [], "pc": [], "pr": [], "same": []}
        for r, *ids in zip(ok, p, pc, pr):
            error = next((i for i in ids if isinstance(i, TemplateFailure)), None)
            if error is not None:
                failed.append((r["_row"], str(error)))
                continue
            for key, value in zip(rows, (r["_row"], *ids, r["same"])):
                rows[key].append(value)
        frames.append(pl.DataFrame(rows, schema=TOKENIZED))
    errors = pl.DataFrame(failed, schema={"_row": pl.Int64, "error": pl.String}, orient="row")
    return (pl.concat(frames) if frames else pl.DataFrame(schema=TOKENIZED)), errors


def _common_prefix(frame: pl.DataFrame, a: str, b: str) -> pl.Series:
    """Length of the longest common prefix of two list columns, row by row (vectorized via explode)."""
    n = pl.min_horizontal(pl.col(a).list.len(), pl.col(b).list.len())
    heads = frame.select("_row", x=pl.col(a).list.head(n), y=pl.col(b).list.head(n), n=n)
    mismatch = (
        heads.select("_row", "x", "y").explode("x", "y").with_columns(i=pl.int_range(pl.len()).over("_row"))
        .filter(pl.col("x") != pl.col("y")).group_by("_row").agg(first=pl.col("i").min())
    )
    out = heads.join(mismatch, on="_row", how="left", maintain_order="left").select(pl.coalesce("first", "n").cast(pl.Int64))
    return out.to_series()


def analyse(frame: pl.DataFrame, max_length: int, bos: int | None) -> pl.DataFrame:
    """TRL's prompt length, drop, truncation and template verdicts per pair."""
    frame = frame.with_columns(
        prefix_ok=(pl.col("pc").list.head(pl.col("p").list.len()) == pl.col("p"))
        & (pl.col("pr").list.head(pl.col("p").list.len()) == pl.col("p"))
    )
    lcp = pl.min_horizontal(
        _common_prefix(frame, "p", "pc").alias("a"), _common_prefix(frame, "p", "pr").alias("b")
    )
    frame = frame.with_columns(prompt_len=pl.when("prefix_ok").then(pl.col("p").list.len()).otherwise(lcp))
    keep = max_length - pl.col("prompt_len")
    chosen = pl.col("pc").list.slice(pl.col("prompt_len"))
    rejected = pl.col("pr").list.slice(pl.col("prompt_len"))
    double = pl.lit(False)
    if bos is not None:
        double = pl.any_horizontal(
            *[(pl.col(c).list.get(0, null_on_oob=True) == bos) & (pl.col(c).list.get(1, null_on_oob=True) == bos) for c in ("p", "pc", "pr")]
        ).fill_null(False)
    return frame.select(
        "_row",
        "prompt_len",
        dropped=pl.col("prompt_len") >= max_length,
        identical_truncated=(pl.col("prompt_len") < max_length)
        & ~pl.col("same")
        & (chosen.list.head(keep) == rejected.list.head(keep)),
        roundtrip_broken=~pl.col("prefix_ok"),
        double_bos=double,
        longest=pl.max_horizontal(pl.col("pc").list.len(), pl.col("pr").list.len()),
        chosen_tokens=pl.col("pc").list.len(),
        rejected_tokens=pl.col("pr").list.len(),
    )


def length_histogram(verdicts: pl.DataFrame, max_length: int) -> dict[str, list[int]]:
    """Counts of templated prompt+chosen / prompt+rejected token lengths, with ``max_length`` an edge
    (read by ``prefdata report`` for its token-length plot)."""
    m = max_length
    longest = int(max(verdicts.get_column("chosen_tokens").max() or 0, verdicts.get_column("rejected_tokens").max() or 0))
    if m > 2 * longest + 1:  # the cut lies far past every pair ("no limit"): bins of the data, then up to the cut
        edges = sorted({0, longest // 4, longest // 2, 3 * longest // 4, longest + 1, m})
    else:
        edges = sorted({0, m // 4, m // 2, 3 * m // 4, m, 3 * m // 2, 2 * m, max(longest, 2 * m) + 1})
    out: dict[str, list[int]] = {"bin_edges": edges}
    for side in ("chosen", "rejected"):
        # float edges: a max_length near 2**63 ("no limit") overflows int64 edges; token counts are small
        counts, _ = np.histogram(verdicts.get_column(f"{side}_tokens").to_numpy(), bins=np.asarray(edges, dtype=np.float64))
        out[side] = [int(c) for c in counts]
    return out


def untokenized_note(count: int) -> str:
    """Said in every tokenizer check's message, so a pass is not read as covering pairs it never saw."""
    if not count:
        return ""
    return f" ({plural(count, 'pair')} with missing or null messages not tokenized: see role_structure)"


def run(ctx: Context) -> list[CheckOutcome]:
    c = ctx.config.checks
    enabled = [i for i in CHECK_IDS if c.get(i).enabled]
    if not enabled:
        return []
    o = ctx.options
    if o.tokenizer is None:
        return [skipped(ctx, i, "needs --tokenizer and --max-length") for i in enabled]
    tok = load_tokenizer(o.tokenizer)
    tokenized, template_errors = tokenize(ctx, tok)
    # No sequence is 2**31 tokens long: a larger max_length (sys.maxsize for "no limit") is the same
    # verdicts, and would overflow the integer columns it is compared with.
    limit = min(o.max_length, MAX_TOKENS)
    verdicts = analyse(tokenized, limit, tok.bos_token_id)
    n = ctx.frame.height
    truncated = int((verdicts.get_column("longest") > limit).sum())
    refused = template_errors.height
    not_tokenized = n - verdicts.height - refused
    base = {
        "max_length": o.max_length, "tokenizer": str(o.tokenizer), "pairs_tokenized": verdicts.height,
        "pairs_not_tokenized": not_tokenized, "pairs_template_error": refused,
        "pairs_truncated": truncated, "length_histogram": length_histogram(verdicts, o.max_length),
    }
    untokenized = untokenized_note(not_tokenized)
    refused_note = refused_text = ""
    if refused:
        base["first_template_error"] = template_errors.get_column("error")[0]
        refused_note = f" ({plural(refused, 'pair')} the chat template raises on: see chat_template_roundtrip)"
        refused_text = f"{plural(refused, 'pair')} the chat template raises on (first: {base['first_template_error']})"
    out = []
    texts = {
        "truncation_dropped": ("dropped", "TRL drops {n} (prompt alone reaches max_length={m})", "no pair is dropped at max_length={m}"),
        "truncation_identical": ("identical_truncated", "{n} with chosen and rejected identical after truncation to {m} tokens", "chosen and rejected still differ after truncation to {m} tokens"),
        "chat_template_roundtrip": ("roundtrip_broken", "{n} whose templated prompt is not a token prefix of prompt+response", "the templated prompt is a token prefix of prompt+response in every pair"),
        "double_bos": ("double_bos", "{n} whose templated tokens start with a doubled BOS", "no doubled BOS"),
    }
    for check_id in enabled:
        col, bad, good = texts[check_id]
        rows = verdicts.filter(pl.col(col)).get_column("_row")
        if check_id == "chat_template_roundtrip" and refused:
            # TRL stops at a pair its template raises on: these pairs are this check's findings
            broken = [bad.format(n=plural(rows.len(), "pair"), m=o.max_length)] if rows.len() else []
            message = ", ".join([*broken, refused_text]) + untokenized
            rows = pl.concat([rows, template_errors.get_column("_row")]).sort()
            ids = ctx.ids_of_rows(rows)
        else:
            ids = ctx.ids_of_rows(rows)
            message = (bad if ids else good).format(n=plural(len(ids), "pair"), m=o.max_length) + untokenized + refused_note
        statistic = {**base, "pairs": len(ids), "share": share(len(ids), n)}
        if check_id == "truncation_dropped":
            statistic["max_prompt_tokens"] = verdicts.get_column("prompt_len").max()
        out.append(count_outcome(ctx, check_id, ids, statistic, message))
    return out
