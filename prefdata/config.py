"""The build config: how raw logs map onto a shape, validated in one place.

A config is YAML with one or more ``sources``. Each source says where its files are (``path``, a glob
relative to RAW), which ``shape`` they have and which raw fields play which part (``columns``, with
nested paths such as ``meta.prompt`` or ``turns[0].text``). Unknown keys are errors, and every error
names the source and the key and lists the valid values::

    sources:
      - name: pandalm
        shape: pairwise
        columns: {prompt_template: "{instruction}\\n\\n{input}", response_a: response1, response_b: response2}
        annotators: [annotator1, annotator2, annotator3]
        winner_values: {a: [1], b: [2], tie: [0]}
        models_from: {field: cmp_key, separator: "_"}
    split: {test_fraction: 0.05, seed: 0}

Without a config, ``build`` detects each file's shape and prints the config it inferred.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from prefdata.config_files import (
    YAML11_BOOLEANS,
    Count,
    load_data_yaml,
    not_text,
    read_text,
    represent_text,
    underscored_number,
)
from prefdata.errors import ConfigError

Role = Literal["system", "user", "assistant", "tool"]
FormatName = Literal["auto", "jsonl", "json", "csv", "parquet"]


def _parse_path(path: str) -> None:
    from prefdata.shapes.fields import parse_path  # shapes import this module: import late

    parse_path(path)


def _parse_template(template: str) -> None:
    from prefdata.shapes.prompt import template_fields

    for name in template_fields(template):
        _parse_path(name)


def _parse_filter(text: str) -> None:
    from prefdata.shapes.filters import parse_filter

    parse_filter(text).expr()


def _checked_by(parse) -> AfterValidator:
    """A validator running ``parse`` (a shape module's own parser) when the config is read, so that a
    malformed path, template or filter is an error naming the config file and key, not one raised
    later from inside a shape without either. pydantic reports ``ValueError``, shapes ``ConfigError``."""

    def check(value: str) -> str:
        try:
            parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    return AfterValidator(check)


#: A path into a raw record; :mod:`prefdata.shapes.fields` has the grammar.
FieldPath = Annotated[str, _checked_by(_parse_path)]
#: A prompt template over raw fields, ``"{instruction}\n\n{input}"``: valid braces, every field a valid path.
Template = Annotated[str, _checked_by(_parse_template)]
#: A row filter, ``"<field> <op> <value>"``; :mod:`prefdata.shapes.filters` has the grammar.
FilterText = Annotated[str, _checked_by(_parse_filter)]


def _single_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    kind = "null" if value is None else "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
    raise ValueError(f"expected a single value (text, a number, true or false), got {kind}")


#: A raw verdict or label value a config names (``model_a``, ``1``, ``true``): a single value, as the
#: raw value it is matched against is; a list would match nothing (and YAML aliases could nest one
#: into gigabytes), null only the text "none". Each keeps its type (no coercion).
RawValue = Annotated[Any, AfterValidator(_single_value)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Scalars are taken as YAML 1.2 reads them, never coerced (as the check config and the Python API
# take them): `seed: true` was seed 1, `max_pairs: "5"` 5 and `higher_is_better: "no"` false, so a
# mistake built silently. Lists stay lax, so code may pass a tuple. A dict built in code may hold
# numpy's numbers, as the API's options may (np.int64 is an integer; np.bool_ is refused as there).
#: ``true``/``false`` only: not ``"yes"``, ``1``, ``"true"`` or ``np.True_``.
Flag = Annotated[bool, Field(strict=True)]
#: A finite number (an integer or a numpy number reads as one): not ``true``, ``"0.1"``, NaN or infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class SourceBase(_Strict):
    name: str | None = Field(None, description="source name written to the `source` column (default: file name)")
    path: str | None = Field(None, description="file, folder or glob relative to RAW (default: all of RAW)")
    format: FormatName = "auto"
    roles: dict[str, Role] = Field(default_factory=dict, description="extra raw role name -> canonical role")
    filters: list[FilterText] = Field(default_factory=list, description="row filters, e.g. \"lang == 'en'\"")
    #: ``bad.yaml: sources[0] (name: hh)``, set by :func:`parse_config` (not a key: never dumped)
    _where: str | None = PrivateAttr(None)

    @field_validator("roles")
    @classmethod
    def _lower_roles(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): r for k, r in v.items()}

    def settings(self) -> SourceBase:
        """This source without its ``name`` and ``path``: how its files are read, whichever they are."""
        return self.model_copy(update={"name": None, "path": None})

    def settings_key(self) -> str:
        """:meth:`settings` as JSON, equal for two sources that read their files alike."""
        return self.settings().model_dump_json()

    def where(self, key: str) -> str:
        """``bad.yaml: sources[0] (name: hh).<key>``: how an error found after the config was read (a
        custom ``function`` that cannot be imported or fails on the data) names the file, the source
        and the key, as the config's own errors do (``source <name>.<key>`` for a config built in code)."""
        where = self._where or f"source {self.name or getattr(self, 'shape', '?')}"
        return f"{where}.{key}"


class TurnMarkers(_Strict):
    """How a plain-text transcript marks turns (HH-RLHF: ``\\n\\nHuman:`` and ``\\n\\nAssistant:``).

    A marker written with ``\\n`` also matches the same marker with Windows line ends (``\\r\\n``).
    """

    user: str = Field("\n\nHuman:", min_length=1)
    assistant: str = Field("\n\nAssistant:", min_length=1)

    def shown(self) -> str:
        """The markers as a ``detected`` line names them (`` '\\nHuman:'/'\\nAssistant:'``), or "" for the
        defaults (HH-RLHF's blank-line markers), which the line leaves unsaid."""
        return "" if self == TurnMarkers() else f" {self.user!r}/{self.assistant!r}"


class PromptColumns(_Strict):
    """Where the prompt comes from: one field, or a template over several (empty parts dropped)."""

    prompt: FieldPath | None = None
    prompt_template: Template | None = None
    system: FieldPath | None = Field(None, description="field holding a system prompt, prepended as a system turn")
    history: FieldPath | None = Field(
        None, description="field holding earlier turns as [[user, assistant], ...] pairs (LLaMA-Factory alpaca), placed before the prompt"
    )
    prompt_markers: TurnMarkers | None = Field(
        None, description="split a prompt string into turns at these markers (an HH-style dialogue ending with the assistant marker)"
    )

    @model_validator(mode="after")
    def _one_prompt(self) -> PromptColumns:
        if self.prompt and self.prompt_template:
            raise ValueError("give either 'prompt' or 'prompt_template', not both")
        return self


class ModelColumns(_Strict):
    chosen_model: FieldPath | None = None
    rejected_model: FieldPath | None = None


#: Of a source whose pairs may carry both scores next to their label (preference, transcript).
ScoresMustAgree = Annotated[
    Flag, Field(description="with both scores, chosen must score higher: equal scores are a `tie` reject, lower `scores_disagree`")
]


class PreferenceColumns(PromptColumns, ModelColumns):
    chosen: FieldPath = "chosen"
    rejected: FieldPath = "rejected"
    score_chosen: FieldPath | None = None
    score_rejected: FieldPath | None = None

    @model_validator(mode="after")
    def _need_prompt(self) -> PreferenceColumns:
        if not (self.prompt or self.prompt_template):
            raise ValueError("a preference source needs 'prompt' or 'prompt_template' (without a prompt, use shape: transcript)")
        return self


class PreferenceSource(SourceBase):
    """prompt/chosen/rejected already paired (strings, message lists, ShareGPT)."""

    shape: Literal["preference"]
    columns: PreferenceColumns
    scores_must_agree: ScoresMustAgree = True


class TranscriptColumns(ModelColumns):
    chosen: FieldPath = "chosen"
    rejected: FieldPath = "rejected"
    score_chosen: FieldPath | None = None
    score_rejected: FieldPath | None = None


class TranscriptSource(SourceBase):
    """Whole chosen/rejected dialogues; the prompt is their shared turns."""

    shape: Literal["transcript"]
    columns: TranscriptColumns = Field(default_factory=TranscriptColumns)
    markers: TurnMarkers = Field(default_factory=TurnMarkers)
    scores_must_agree: ScoresMustAgree = True


class WinnerValues(_Strict):
    """Raw winner values meaning "A wins", "B wins", a tie, or both bad (compared as text,
    case-insensitively). Labels a config leaves out match nothing; without ``winner_values`` at all,
    :func:`default_winner_values` applies."""

    a: list[RawValue] = Field(default_factory=list)
    b: list[RawValue] = Field(default_factory=list)
    tie: list[RawValue] = Field(default_factory=list)
    both_bad: list[RawValue] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> WinnerValues:
        seen: dict[str, str] = {}
        for label in ("a", "b", "tie", "both_bad"):
            for v in getattr(self, label):
                key = value_key(v)
                if key in seen and seen[key] != label:
                    raise ValueError(f"value {v!r} is listed under both '{seen[key]}' and '{label}'")
                seen[key] = label
        return self


def default_winner_values() -> WinnerValues:
    return WinnerValues(
        a=["a", "model_a", "response_a"], b=["b", "model_b", "response_b"], tie=["tie", "draw", "equal"], both_bad=["both_bad", "tie (bothbad)", "neither"]
    )


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):  # a raw value detection sampled (never a label): one key per kind,
        return f"\0{type(v).__name__}"  # matching no label, without str(), which recursed as deep as the value
    return str(v)


#: YAML 1.1's words for true and false: configs read them as strings (YAML 1.2), so ``labels: {up:
#: [yes]}`` names the string "yes"; they also match a field that holds JSON ``true``/``false``, as the
#: same config matched it when it was read as YAML 1.1.
def value_map(values: Iterable[tuple[object, str]]) -> dict[str, str]:
    """``(configured value, label)`` pairs as the map shapes match raw values with (:func:`value_key`).
    A YAML 1.1 boolean word (``yes``, ``off``) also matches the boolean it meant there; a value written
    out (``true``) wins over that reading."""
    values = list(values)
    aliases = {YAML11_BOOLEANS[key]: label for v, label in values if isinstance(v, str) and (key := value_key(v)) in YAML11_BOOLEANS}
    return aliases | {value_key(v): label for v, label in values}


def value_key(value: object) -> str:
    """A configured verdict or label value as shapes match it (``prefdata.shapes.fields.value_text``):
    trimmed, lower-cased, a whole number as an integer, so ``1``, ``"1"``, ``1.0`` and ``"1.0"`` are one
    value, and listing it under two labels is an error here rather than a silent override later."""
    text = _value_text(value).strip().lower()
    try:
        num = float(text)
    except ValueError:
        return text
    return str(int(num)) if math.isfinite(num) and num == math.floor(num) and abs(num) < 2**53 else text


class WinnerThreshold(_Strict):
    """A numeric preference (e.g. P(B better than A)): above ``b_above`` B wins, below ``a_below`` A wins;
    in between is a tie band."""

    a_below: Number
    b_above: Number

    @model_validator(mode="after")
    def _ordered(self) -> WinnerThreshold:
        if self.a_below > self.b_above:
            raise ValueError("a_below must be <= b_above (the tie band lies between them)")
        return self


class ModelsFrom(_Strict):
    """Take model names apart from one field, e.g. ``cmp_key: "bloom-7b_llama-7b"`` -> A, B."""

    field: FieldPath
    separator: str = "_"


class PairwiseColumns(PromptColumns):
    response_a: FieldPath = "response_a"
    response_b: FieldPath = "response_b"
    winner: FieldPath | None = None
    annotators: list[FieldPath] = Field(default_factory=list)
    model_a: FieldPath | None = None
    model_b: FieldPath | None = None


class PairwiseSource(SourceBase):
    """Prompt, two responses and a verdict (one winner field, or a majority of annotator fields)."""

    shape: Literal["pairwise"]
    columns: PairwiseColumns
    winner_values: WinnerValues = Field(default_factory=default_winner_values)
    winner_threshold: WinnerThreshold | None = None
    models_from: ModelsFrom | None = None

    @model_validator(mode="after")
    def _verdict(self) -> PairwiseSource:
        c = self.columns
        if not (c.prompt or c.prompt_template):
            raise ValueError("columns needs 'prompt' or 'prompt_template'")
        if bool(c.winner) == bool(c.annotators):
            raise ValueError("give exactly one of columns.winner (one verdict field) or columns.annotators (majority vote)")
        if self.winner_threshold is not None and c.annotators:
            raise ValueError("winner_threshold applies to a single numeric columns.winner, not to annotators")
        # the default winner_values, written out (the manifest's normalized config has every default), is no conflict
        if self.winner_threshold is not None and "winner_values" in self.model_fields_set and self.winner_values != default_winner_values():
            raise ValueError("give winner_values (verdicts by value) or winner_threshold (a numeric verdict cut in bands), not both")
        return self


#: The largest seed: seeds feed 64-bit hashes.
MAX_SEED = 2**64 - 1


def _seed_in_range(value: int) -> int:
    """A seed in 0 .. 2**64 - 1, said in whole numbers (pydantic's own ``lt=2**64`` message printed
    the bound as a float: "less than 18446744073709552000")."""
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"a seed is a whole number from 0 to 2**64 - 1 ({MAX_SEED}), got {value}")
    return value


#: Seeds feed 64-bit hashes: a negative or wider one is an error here, not a traceback later.
Seed = Annotated[Count, AfterValidator(_seed_in_range)]
#: A cap polars compares 64-bit integers with: a wider one was a TypeError from polars (exit 3).
MAX_COUNT = 2**63 - 1


class Binarize(_Strict):
    """How N scored completions become pairs. Ties are never paired."""

    policy: Literal["best_vs_worst", "best_vs_random", "all_pairs"] = "best_vs_worst"
    seed: Seed = 0
    min_margin: Number = Field(0.0, ge=0, description="all_pairs (and the others): minimum score gap to form a pair")
    max_pairs: Count | None = Field(
        None, ge=1, le=MAX_COUNT, description="all_pairs: at most this many pairs per record, the widest score gaps first (16 completions make 120)"
    )

    @model_validator(mode="after")
    def _cap_for_all_pairs(self) -> Binarize:
        if self.max_pairs is not None and self.policy != "all_pairs":
            raise ValueError(f"max_pairs caps all_pairs; {self.policy} makes one pair per record")
        return self


class CompletionColumns(PromptColumns):
    @model_validator(mode="after")
    def _need_prompt(self) -> CompletionColumns:
        if not (self.prompt or self.prompt_template):
            raise ValueError("columns needs 'prompt' or 'prompt_template'")
        return self

    completions: FieldPath = Field("completions", description="path of the list of completions")
    text: FieldPath = Field("response", description="path of the text inside one completion ('$' = the item itself)")
    model: FieldPath | None = Field(None, description="path of the model name inside one completion")
    models: FieldPath | None = Field(None, description="path of a list of model names parallel to completions")


class RatedColumns(CompletionColumns):
    score: FieldPath = Field("score", description="path of the score inside one completion")
    scores: FieldPath | None = Field(None, description="path of a list of scores parallel to completions (instead of score)")


class RatedSource(SourceBase):
    """A prompt with N completions and a score each (UltraFeedback)."""

    shape: Literal["rated"]
    columns: RatedColumns
    higher_is_better: Flag = True
    binarize: Binarize = Field(default_factory=Binarize)


class RankedColumns(CompletionColumns):
    rank: FieldPath = Field("rank", description="path of the rank inside one completion")
    ranks: FieldPath | None = Field(None, description="path of a list of ranks parallel to completions (instead of rank)")


class RankedSource(SourceBase):
    """A prompt with N completions and a rank each."""

    shape: Literal["ranked"]
    columns: RankedColumns
    lower_rank_is_better: Flag = True
    binarize: Binarize = Field(default_factory=Binarize)


class FeedbackLabels(_Strict):
    """Raw label values meaning up-voted / down-voted (compared as text, case-insensitively)."""

    up: list[RawValue] = Field(default_factory=lambda: [True, 1, "up", "thumbs_up", "like", "good", "positive"])
    down: list[RawValue] = Field(default_factory=lambda: [False, 0, -1, "down", "thumbs_down", "dislike", "bad", "negative"])

    @model_validator(mode="after")
    def _disjoint(self) -> FeedbackLabels:
        both = {value_key(v) for v in self.up} & {value_key(v) for v in self.down}
        if both:
            raise ValueError(f"values listed as both up and down: {sorted(both)}")
        return self


class FeedbackColumns(PromptColumns):
    response: FieldPath | None = Field(None, description="field holding the rated response")
    conversation: FieldPath | None = Field(
        None, description="instead of prompt + response: a message list whose last (assistant) turn is the response"
    )
    label: FieldPath = "label"
    model: FieldPath | None = None

    @model_validator(mode="after")
    def _prompt_and_response(self) -> FeedbackColumns:
        if self.conversation:
            if self.prompt or self.prompt_template or self.response:
                raise ValueError("give either 'conversation' or 'prompt'/'prompt_template' + 'response', not both")
        elif not ((self.prompt or self.prompt_template) and self.response):
            raise ValueError("columns needs 'conversation', or 'prompt' (or 'prompt_template') and 'response'")
        return self


class FeedbackSource(SourceBase):
    """Production logs of (prompt, response, thumbs up/down): up-voted paired with down-voted."""

    shape: Literal["feedback"]
    columns: FeedbackColumns
    labels: FeedbackLabels = Field(default_factory=FeedbackLabels)
    max_pairs_per_prompt: Count = Field(8, ge=1, le=MAX_COUNT, description="cap on up x down pairs for one prompt")


class TreeColumns(_Strict):
    root: FieldPath = Field("$", description="path of the root message ('$' = the record itself)")
    text: FieldPath = "text"
    role: FieldPath = "role"
    replies: FieldPath = "replies"
    rank: FieldPath = "rank"
    model: FieldPath | None = None


class TreeSource(SourceBase):
    """Nested reply trees with sibling ranks (OpenAssistant): siblings pair by rank."""

    shape: Literal["tree"]
    columns: TreeColumns = Field(default_factory=TreeColumns)
    lower_rank_is_better: Flag = True
    skip_deleted: Flag = Field(True, description="ignore messages with deleted: true")
    message_filters: list[FilterText] = Field(default_factory=list, description="filters on each message, e.g. \"lang == 'en'\"")


class CustomSource(SourceBase):
    """Escape hatch: ``module:function`` receives the raw LazyFrame and returns canonical columns."""

    shape: Literal["custom"]
    function: str
    fields: list[str] = Field(default_factory=list, description="raw fields to decode for the function (default: detected)")

    @field_validator("function")
    @classmethod
    def _module_function(cls, v: str) -> str:
        if v.count(":") != 1 or not all(v.split(":")):
            raise ValueError("function must look like 'package.module:function'")
        return v


Source = Annotated[
    PreferenceSource | TranscriptSource | PairwiseSource | RatedSource | RankedSource | FeedbackSource | TreeSource | CustomSource,
    Field(discriminator="shape"),
]
SHAPES = ("preference", "transcript", "pairwise", "rated", "ranked", "feedback", "tree", "custom")


class SplitConfig(_Strict):
    test_fraction: Number = Field(0.05, ge=0, lt=1)
    seed: Seed = 0

    def overridden(self, **values: Any) -> SplitConfig:
        """A copy with ``values`` (the ``--test-fraction``/``--seed`` options) validated like the config's own."""
        try:
            return SplitConfig.model_validate({**self.model_dump(), **values})
        except ValidationError as exc:
            problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise ConfigError(f"invalid split option: {problems}") from None


class OutputConfig(_Strict):
    compression: Literal["zstd", "snappy", "lz4", "uncompressed"] = "zstd"
    kto_export: Flag = Field(False, description="also write unpaired feedback as TRL prompt/completion/label rows")


class BuildConfig(_Strict):
    sources: list[Source] = Field(min_length=1)
    split: SplitConfig = Field(default_factory=SplitConfig)
    dedup: Flag = Field(True, description="reject exact duplicate pairs (the first occurrence is kept)")
    output: OutputConfig = Field(default_factory=OutputConfig)

    def normalized(self) -> dict[str, Any]:
        """Every default filled in: what the manifest records and what reproduces the build."""
        return self.model_dump(mode="json")


def _loc(cfg: Any, loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        if isinstance(item, int) and i > 0 and loc[i - 1] == "sources":
            name = None
            try:
                name = cfg["sources"][item].get("name")
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
            parts[-1] = f"sources[{item}]" + (f" (name: {name})" if name else "")
        elif isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in SHAPES and i > 0 and isinstance(loc[i - 1], int):
            continue  # pydantic's discriminator tag, not a key the user wrote
        else:
            parts.append(str(item))
    return ".".join(parts).replace(".[", "[")


def parse_config(data: Any, *, origin: str = "config") -> BuildConfig:
    """Validate a config mapping; errors name the source and key and list valid values."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping with a 'sources' list, got {type(data).__name__}")
    try:
        config = BuildConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _loc(data, tuple(err["loc"])) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key (valid keys: {_valid_keys(data, tuple(err['loc']))})"
            elif err["type"] == "union_tag_invalid" or err["type"] == "union_tag_not_found":
                msg = f"'shape' must be one of: {', '.join(SHAPES)}"
            elif err["type"] in ("bool_type", "int_type", "float_type"):
                msg += _what_was_written(err["input"])
            lines.append(f"  {where}: {msg}")
        raise ConfigError(f"invalid build config {origin}:\n" + "\n".join(lines)) from None
    for i, source in enumerate(config.sources):
        source._where = f"{origin}: {_loc(data, ('sources', i))}"
    return config


def _what_was_written(value: Any) -> str:
    """The value a scalar option refused, as the YAML said it (``got true``, ``got "5"``), with the
    spelling to use where YAML 1.1 read it otherwise (``yes``, ``1_000``)."""
    if isinstance(value, str) and value.strip().lower() in YAML11_BOOLEANS:
        return f", got the text {value!r} (YAML 1.2: only true and false are booleans)"
    if isinstance(value, str) and (number := underscored_number(value)) is not None:
        return f", got the text {value!r} (YAML 1.2: write {number})"
    if isinstance(value, bool):
        return f", got {str(value).lower()}"
    return f", got the text {value!r}" if isinstance(value, str) else f", got {value!r}"


def _valid_keys(data: dict, loc: tuple[Any, ...]) -> str:
    """The keys allowed at the parent of ``loc`` (for 'unknown key' errors)."""
    model: Any = BuildConfig
    annotation: Any = BuildConfig
    node: Any = data
    for item in loc[:-1]:
        if isinstance(item, int):
            node = node[item] if isinstance(node, list) and item < len(node) else {}
            model = _model_of(annotation, node)
            continue
        if item in SHAPES:
            continue
        field = getattr(model, "model_fields", {}).get(item)
        node = node.get(item, {}) if isinstance(node, dict) else {}
        if field is None:
            break
        annotation = field.annotation
        model = _model_of(annotation, node)
    fields = getattr(model, "model_fields", {})
    return ", ".join(fields) if fields else "?"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model class inside a (possibly nested) type annotation."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _model_of(annotation: Any, node: Any) -> Any:
    import typing

    candidates = _models_in(annotation)
    if isinstance(node, list) and node:
        node = node[0]
    if isinstance(node, dict) and "shape" in node:
        for c in candidates:
            shape_field = c.model_fields.get("shape")
            if shape_field is not None and node["shape"] in typing.get_args(shape_field.annotation):
                return c
    return candidates[0] if candidates else annotation


def load_config(path: str | Path) -> BuildConfig:
    """Read and validate a YAML build config."""
    p = Path(path)
    try:
        data = load_data_yaml(read_text(p), name=str(p))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except IsADirectoryError:
        raise ConfigError(f"config {p} is a folder, not a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {not_text(p, exc)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {p} is not valid YAML: {exc}") from None
    return parse_config(data, origin=str(p))


class _ConfigDumper(yaml.SafeDumper):
    """Short lists inline, and strings with newlines as one double-quoted line (``"a\n\nb"``)."""


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in value) and len(value) <= 8
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_ConfigDumper.add_representer(str, represent_text)
_ConfigDumper.add_representer(list, _list)


def dump_config(config: BuildConfig | dict[str, Any]) -> str:
    """YAML text of a config, minimal: defaults left out so a suggested config stays short."""
    data = config.model_dump(mode="json", exclude_defaults=True) if isinstance(config, BuildConfig) else config
    for source in data.get("sources", []) if isinstance(config, BuildConfig) else []:
        columns = source.get("columns", {})
        if columns.get("prompt_markers") == {}:  # written out: `{}` would not say that the prompt gets split
            columns["prompt_markers"] = TurnMarkers().model_dump(mode="json")
        if source.get("shape") in ("ranked", "tree"):  # written out: which rank is best is never to be guessed
            source.setdefault("lower_rank_is_better", True)
    return yaml.dump(data, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True, width=100)
