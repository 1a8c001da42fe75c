"""Build the prompt turn list from a prompt field, a template over several fields, and a system field.

>>> import polars as pl
>>> df = pl.DataFrame({"instruction": ["Fix this.", "Say hi."], "input": ["teh cat", ""]})
>>> df.select(template_expr("{instruction}\\n\\n{input}").alias("p")).get_column("p").to_list()
['Fix this.\\n\\nteh cat', 'Say hi.']
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from prefdata.config import PromptColumns
from prefdata.errors import ConfigError
from prefdata.schema import MESSAGES
from prefdata.shapes.base import sample_values
from prefdata.shapes.fields import Leaf, expr_for
from prefdata.shapes.messages import TEXT, Kind, drop_empty_system, message, sniff_kind, to_messages


def template_fields(template: str) -> list[str]:
    """Field paths used by a ``{field}`` template (``{{`` and ``}}`` are literal braces)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"prompt_template {template!r}: {exc}") from None


def template_expr(template: str) -> pl.Expr:
    """Fill a template; a field that is null or blank is dropped together with the text before it.

    Text before the first field and after the last is kept as is; the text *between* two fields is a
    separator, kept only when there is something on both sides.
    """
    parsed = list(string.Formatter().parse(template))
    prefix = parsed[0][0] if parsed else template
    pieces: list[pl.Expr] = []
    seen_any: pl.Expr = pl.lit(False)
    suffix = ""
    for i, (literal, name, _, _) in enumerate(parsed):
        if name is None:
            suffix = literal
            continue
        sep = "" if i == 0 else literal
        value = expr_for(name).cast(pl.String)
        present = value.is_not_null() & (value.str.strip_chars() != "")
        piece = pl.when(present & seen_any).then(pl.lit(sep) + value).when(present).then(value).otherwise(pl.lit(""))
        pieces.append(piece)
        seen_any = seen_any | present
    if not pieces:
        return pl.lit(template)
    body = pl.concat_str(pieces)
    text = pl.concat_str([pl.lit(prefix), body, pl.lit(suffix)]) if (prefix or suffix) else body
    return pl.when(seen_any).then(text).otherwise(pl.lit(None, pl.String))


@dataclass(frozen=True)
class PromptPlan:
    """How this source's prompt is read: the kind of the prompt field, and the columns config."""

    columns: PromptColumns
    kind: Kind  # of columns.prompt (text when a template is used)

    @classmethod
    def sniff(cls, columns: PromptColumns, sample: Sequence[Mapping[str, Any]]) -> PromptPlan:
        kind = TEXT
        if columns.prompt:
            kind = sniff_kind(sample_values(sample, columns.prompt)) or TEXT
        return cls(columns, kind)

    def leaves(self) -> list[Leaf]:
        c = self.columns
        leaves = []
        if c.prompt:
            leaves.append(Leaf(c.prompt, self.kind.dtype, self.kind.strict))
        if c.prompt_template:
            leaves += [Leaf(name, pl.String, ((),)) for name in template_fields(c.prompt_template)]
        if c.system:
            leaves.append(Leaf(c.system, pl.String, ((),)))
        return leaves

    def expr(self, aliases: Mapping[str, str]) -> pl.Expr:
        """The prompt as a canonical message list (null when the prompt is missing)."""
        c = self.columns
        if c.prompt:
            turns = to_messages(expr_for(c.prompt), self.kind, "user", aliases)
        else:
            assert c.prompt_template
            text = template_expr(c.prompt_template)
            turns = pl.when(text.is_not_null()).then(pl.concat_list(message("user", text))).cast(MESSAGES)
        if c.system:
            system = expr_for(c.system)
            with_system = pl.concat_list(pl.concat_list(message("system", system)), turns)
            turns = pl.when(turns.is_not_null() & system.is_not_null()).then(drop_empty_system(with_system)).otherwise(turns)
        return turns.cast(MESSAGES)

    @property
    def description(self) -> str:
        c = self.columns
        what = f"'{c.prompt}' ({self.kind})" if c.prompt else f"template {c.prompt_template!r}"
        return what + (f" + system '{c.system}'" if c.system else "")
