"""Build the prompt turn list from a prompt field, a template over several fields, and a system field.

A template reads its fields from a batch's columns of raw fields (:func:`prefdata.io.decode.column_of`):

>>> import polars as pl
>>> from prefdata.io.decode import column_of
>>> df = pl.DataFrame({"instruction": ["Fix this.", "Say hi."], "input": ["teh cat", ""]}).rename(column_of)
>>> df.select(template_expr("{instruction}\\n\\n{input}").alias("p")).get_column("p").to_list()
['Fix this.\\n\\nteh cat', 'Say hi.']
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from prefdata.config import PromptColumns
from prefdata.errors import ConfigError
from prefdata.io.decode import ANY
from prefdata.schema import MESSAGES
from prefdata.shapes.base import Origin, keep_reason, sample_values
from prefdata.shapes.fields import Leaf, expr_for
from prefdata.shapes.messages import TEXT, Kind, drop_empty_system, message, sniff_kind, to_messages
from prefdata.text_keys import BLANK


def template_fields(template: str) -> list[str]:
    """Field paths used by a ``{field}`` template (``{{`` and ``}}`` are literal braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"prompt_template {template!r}: {exc}") from None


#: The leading run of a literal between two fields that only separates them: whitespace, list
#: punctuation and dashes (``", "``, ``"\n\n"``, ``" | "``, ``" - "``).
_SEPARATOR = re.compile(r"[\s,;|.\-\u2013\u2014]*")
#: A label: one line of text ending with a colon (``### Input:``, ``Context: ``, a full-width ``：``
#: in CJK templates), as templates name their fields. Other text (``" - "``, ``" vs "``, an
#: instruction sentence) is no label.
_LABEL = re.compile(r"[^\n]*[^\s:：][^\n]*[:：]\s*")
#: A sentence end inside the first field's label line: the label is the text after it ("Rules: be
#: nice. Question: " labels its field with "Question: " only, and "Rules: be nice. " is header). A full
#: stop ends a sentence after a lower-case word of two letters or more and before a capital, so
#: "Dr. Smith:", "U.S. Question:", "Q1. Answer:" and "e.g. a URL:" stay whole labels.
_SENTENCE_END = re.compile(r"(?<![A-Za-z0-9])[a-z]{2,}[.]\s+(?=[A-Z])|[!?]\s+(?=[A-Z])|[。！？]\s*")


def _label_parts(literal: str, first: bool) -> tuple[str, str]:
    """``(kept, label)`` of the literal before a field: the label goes with the field when it is empty.

    The label is the literal's last line when that line ends with a colon; between fields, a line
    without a line break before it starts after the separator run (``", Note: "``). Before the first
    field, what precedes the label is a header and stays (Alpaca's "Below is an instruction..."), and
    so does a sentence ending on the label's own line (:data:`_SENTENCE_END`); between fields it is a
    separator, kept only between two fields that are both there.
    """
    body = literal.rstrip()
    start = body.rfind("\n") + 1
    if start == 0 and not first:
        start = _SEPARATOR.match(body).end()  # type: ignore[union-attr]
    if _LABEL.fullmatch(literal[start:]) is None:
        return literal, ""
    if first:  # before the first field, text before the label stays as header; between fields it would be separator
        colon = max(body.rfind(":"), body.rfind("："))
        ends = [m.end() for m in _SENTENCE_END.finditer(literal, start, colon)]
        if ends and _LABEL.fullmatch(literal[ends[-1]:]):
            start = ends[-1]
    return literal[:start], literal[start:]


def template_expr(template: str) -> pl.Expr:
    """Fill a template; a field that is null or blank is dropped together with its label.

    A field's label is the line written just before it when that line ends with a colon (see
    :func:`_label_parts`). In ``"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"``
    an empty instruction drops ``### Instruction:\n`` rather than presenting the input under it.
    The first field's label goes only when the next field there has a label of its own: in
    ``"### Human: {instruction}\n{input}\n### Assistant:"`` it is a role marker, and the input stays
    under it. Other text between fields is a separator, kept only between two fields that are both
    there; the text before the first field (but its label) and after the last is kept.
    """
    # an escaped brace ("{{") splits the text around it into field-less pieces: join them back
    parsed: list[tuple[str, str]] = []
    pending = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        pending += literal
        if name is not None:
            parsed.append((pending, name))
            pending = ""
    suffix = pending
    if not parsed:
        return pl.lit(suffix)  # no field: the text, its escaped braces read
    header, first_label = _label_parts(parsed[0][0], first=True)
    pieces: list[pl.Expr] = []
    seen_any: pl.Expr = pl.lit(False)
    for i, (literal, name) in enumerate(parsed):
        sep, label = ("", first_label) if i == 0 else _label_parts(literal, first=False)
        raw = expr_for(name).cast(pl.String)
        value = pl.lit(label) + raw
        opening = value if label or i == 0 else pl.lit(first_label) + raw  # the first present field, unlabelled: under the first label
        present = raw.str.strip_chars(BLANK).fill_null("") != ""
        piece = pl.when(present & seen_any).then(pl.lit(sep) + value).when(present).then(opening).otherwise(pl.lit(""))
        pieces.append(piece)
        seen_any = seen_any | present
    body = pl.concat_str(pieces)
    text = pl.concat_str([pl.lit(header), body, pl.lit(suffix)]) if (header or suffix) else body
    return pl.when(seen_any).then(text).otherwise(pl.lit(None, pl.String))


@dataclass(frozen=True)
class PromptPlan:
    """How this source's prompt is read: the kind of the prompt field, and the columns config.

    The prompt is, in order: the ``system`` field's turn (unless the prompt already starts with that
    same system turn), the ``history`` pairs as user/assistant turns, then the prompt field or
    template. A prompt string is split at ``prompt_markers`` when the config gives them (an HH-style
    ``"\\n\\nHuman: ...\\n\\nAssistant:"`` dialogue, whose trailing empty assistant marker is
    where the responses go).
    """

    columns: PromptColumns
    kind: Kind  # of columns.prompt (text when a template is used)

    @classmethod
    def sniff(cls, columns: PromptColumns, sample: Sequence[Mapping[str, Any]]) -> PromptPlan:
        kind = TEXT
        if columns.prompt:
            kind = sniff_kind(sample_values(sample, columns.prompt)) or TEXT
        if columns.prompt_markers is not None and (columns.prompt is None or kind.name != "text"):
            where = f"'{columns.prompt}' holds {kind}" if columns.prompt else "a prompt_template is used"
            raise ConfigError(f"columns.prompt_markers splits a prompt string into turns, but {where}; remove prompt_markers")
        return cls(columns, kind)

    @property
    def _split_text(self) -> bool:
        return self.columns.prompt_markers is not None and self.columns.prompt is not None and self.kind.name == "text"

    def leaves(self) -> list[Leaf]:
        c = self.columns
        leaves = []
        if c.prompt:
            leaves.append(Leaf(c.prompt, self.kind.dtype, self.kind.strict))
        if c.prompt_template:
            leaves += [Leaf(name, pl.String, ((),)) for name in template_fields(c.prompt_template)]
        if c.system:
            leaves.append(Leaf(c.system, pl.String, ((),)))
        if c.history:
            # `"history": ""` (a converter's empty field) is no earlier turns, as null or [] is
            leaves.append(Leaf(c.history, pl.List(pl.List(pl.String)), ((ANY, ANY),), blank_is_missing=True))
        return leaves

    def _marked(self) -> tuple[pl.Expr, pl.Expr]:
        """(turns, problem) of a marker-split prompt string, its trailing empty assistant turn dropped."""
        from prefdata.shapes.transcript import parse_marked_text

        m = self.columns.prompt_markers
        assert m is not None and self.columns.prompt
        turns, problem = parse_marked_text(expr_for(self.columns.prompt), m.user, m.assistant)
        last = turns.list.last()
        open_reply = (last.struct.field("role") == "assistant") & (last.struct.field("content") == "")
        return pl.when(open_reply.fill_null(False)).then(turns.list.head(turns.list.len() - 1)).otherwise(turns), problem

    def expr(self, aliases: Mapping[str, str]) -> pl.Expr:
        """The prompt as a canonical message list (null when the prompt is missing)."""
        c = self.columns
        if self._split_text:
            turns = self._marked()[0]
        elif c.prompt:
            turns = to_messages(expr_for(c.prompt), self.kind, "user", aliases)
        else:
            assert c.prompt_template
            text = template_expr(c.prompt_template)
            turns = pl.when(text.is_not_null()).then(pl.concat_list(message("user", text))).cast(MESSAGES)
        if c.history:
            el = pl.element()
            history = expr_for(c.history).list.eval(
                pl.concat_list(message("user", el.list.get(0, null_on_oob=True)), message("assistant", el.list.get(1, null_on_oob=True)))
            )
            history = history.list.eval(pl.element().explode()).fill_null(pl.lit([], dtype=MESSAGES))
            turns = pl.when(turns.is_not_null()).then(pl.concat_list(history, turns))
        if c.system:
            system = expr_for(c.system)
            first = turns.list.first()
            already = (first.struct.field("role") == "system") & (first.struct.field("content") == system)
            with_system = pl.concat_list(pl.concat_list(message("system", system)), turns)
            add = turns.is_not_null() & system.is_not_null() & ~already.fill_null(False)
            turns = pl.when(add).then(drop_empty_system(with_system)).otherwise(turns)
        return turns.cast(MESSAGES)

    def origin(self) -> Origin:
        """The raw field the prompt is read from, or the fields it is built from (system, history,
        a template's fields, in the order of their turns) when there are several: what a reject of
        the generic rules names (:class:`~prefdata.shapes.base.RawNames`)."""
        c = self.columns
        if c.prompt and not c.system and not c.history:
            return c.prompt
        fields = [c.system, c.history, *([c.prompt] if c.prompt else template_fields(c.prompt_template or ""))]
        return tuple(dict.fromkeys(f for f in fields if f))

    def problems(self) -> list[tuple[pl.Expr, str, str, pl.Expr]]:
        """``(condition, reason, field, detail)`` for prompts that cannot be read faithfully."""
        c = self.columns
        found: list[tuple[pl.Expr, str, str, pl.Expr]] = []
        # named by the raw field (`question`), not the canonical `prompt` the generic rule would name
        if c.prompt:
            found.append((expr_for(c.prompt).is_null(), "missing_field", c.prompt, pl.lit(f"{c.prompt} is missing")))
        else:
            assert c.prompt_template
            names = template_fields(c.prompt_template)
            detail = f"every field of prompt_template ({', '.join(names)}) is missing or blank"
            found.append((template_expr(c.prompt_template).is_null(), "missing_field", ",".join(names), pl.lit(detail)))
        if self._split_text:
            assert c.prompt
            problem = self._marked()[1]
            found.append((problem.is_not_null(), "malformed_transcript", c.prompt, pl.lit(f"{c.prompt}: ") + problem))
        if c.history:
            lengths = expr_for(c.history).list.eval(pl.element().list.len())
            bad = lengths.list.eval(pl.element() != 2)
            detail = pl.format(
                f"{c.history}[{{}}] holds {{}} text(s); each history item must be a [user, assistant] pair",
                bad.list.arg_max(),
                lengths.list.get(bad.list.arg_max(), null_on_oob=True),
            )
            found.append((bad.list.any(), "wrong_type", c.history, detail))
        return found

    def check(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Reject the records whose prompt :meth:`problems` names (an earlier reason is kept)."""
        for condition, reason, field, detail in self.problems():
            lf = lf.with_columns(keep_reason(pl.lit(reason), pl.lit(field), detail, condition))
        return lf

    @property
    def description(self) -> str:
        c = self.columns
        what = f"'{c.prompt}' ({self.kind})" if c.prompt else f"template {c.prompt_template!r}"
        if self._split_text:
            what += " split at turn markers"
            what += c.prompt_markers.shown() if c.prompt_markers is not None else ""
        if c.history:
            what = f"history '{c.history}' + " + what
        return what + (f" + system '{c.system}'" if c.system else "")
