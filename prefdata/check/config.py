"""Thresholds and severities of the preference checks: parsed and validated in one place.

Every check has a ``severity`` (``error`` fails the run, ``warn`` fails it only with ``--strict``,
``info`` never does), an ``enabled`` switch, and the thresholds its verdict depends on. Defaults are
below; a YAML or JSON file overrides any subset of them::

    minhash: {shingle_words: 3, num_perm: 64, bands: 16}
    checks:
      length_bias: {max_share_chosen_longer: 0.7, min_pairs: 50}
      pii: {severity: error, kinds: [email, secret, card]}

Unknown checks and unknown fields are errors (a typo must not silently keep a default), and every
error names the file and the dotted path of the field. YAML is read as the build config is, with
YAML 1.2's scalars (:func:`prefdata.config_files.load_data_yaml`): YAML 1.1 would refuse
``min_jaccard: 7e-1`` (text to it) and silently read ``max_count: 010`` as 8 and ``1:30`` as 90.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prefdata.check.errors import ConfigError
from prefdata.config_files import (
    YAML11_BOOLEANS,
    Count,
    DuplicateKeyError,
    load_data_yaml,
    load_json,
    not_text,
    read_text,
    underscored_number,
)

Severity = Literal["error", "warn", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warn", "info")


class _Strict(BaseModel):
    # strict: a bool where a count belongs (``min_pairs: true``), a quoted number or ``enabled: "yes"``
    # is almost surely a mistake, and coercing it would hide one.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CheckSettings(_Strict):
    """Fields every check has."""

    enabled: bool = True
    severity: Severity = "error"

    def threshold(self) -> dict[str, Any]:
        """The thresholds as reported in checks.json: every field except the switches."""
        return self.model_dump(exclude={"enabled", "severity"})


class CountLimit(CheckSettings):
    """A check that fails when more than ``max_count`` pairs offend (0: any offending pair fails)."""

    max_count: Count = Field(0, ge=0)


class WarnCountLimit(CountLimit):
    severity: Severity = "warn"


class NearIdentical(WarnCountLimit):
    #: Jaccard similarity of the two responses' word-3-gram sets at or above which they are
    #: near-identical (0.8 is about one edited word in thirty).
    min_jaccard: float = Field(0.8, gt=0, le=1)


class NearDuplicates(WarnCountLimit):
    #: A pair is a near duplicate of another when prompt, chosen and rejected each reach this Jaccard.
    min_jaccard: float = Field(0.8, gt=0, le=1)


class PromptLeakageNear(WarnCountLimit):
    min_jaccard: float = Field(0.8, gt=0, le=1)


class LengthBias(CheckSettings):
    severity: Severity = "warn"
    #: Fails when the share of pairs whose chosen response is longer leaves [min, max], overall or in
    #: any source with at least ``min_pairs`` pairs (smaller sources are reported, not judged).
    max_share_chosen_longer: float = Field(0.65, ge=0, le=1)
    min_share_chosen_longer: float = Field(0.35, ge=0, le=1)
    min_pairs: Count = Field(30, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> LengthBias:
        if self.min_share_chosen_longer > self.max_share_chosen_longer:
            raise ValueError("min_share_chosen_longer must not exceed max_share_chosen_longer")
        return self


class PositionBias(CheckSettings):
    severity: Severity = "warn"
    #: Fails when a source's share of "A wins" (chosen shown first) leaves [min, max].
    max_share_a_wins: float = Field(0.6, ge=0, le=1)
    min_share_a_wins: float = Field(0.4, ge=0, le=1)
    min_pairs: Count = Field(30, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> PositionBias:
        if self.min_share_a_wins > self.max_share_a_wins:
            raise ValueError("min_share_a_wins must not exceed max_share_a_wins")
        return self


PII_KINDS = ("email", "phone", "secret", "card")


class Pii(WarnCountLimit):
    kinds: tuple[Literal["email", "phone", "secret", "card"], ...] = Field(PII_KINDS, strict=False)  # a YAML list


class Contamination(CountLimit):
    #: Word n-gram length; a pair whose prompt shares one n-gram with a benchmark prompt is contaminated.
    #: Benchmark prompts shorter than n words match when the pair's normalized prompt equals them.
    ngram: Count = Field(8, ge=1)


class Checks(_Strict):
    """One entry per check id, in the order the table and checks.json list them."""

    schema_: CheckSettings = Field(CheckSettings(), alias="schema")  # any schema problem fails
    shard_integrity: CheckSettings = CheckSettings()
    id_integrity: CountLimit = CountLimit()
    role_structure: CountLimit = CountLimit()
    trl_traps: CountLimit = CountLimit()
    identical_responses: CountLimit = CountLimit()
    near_identical_responses: NearIdentical = NearIdentical()
    exact_duplicates: CountLimit = CountLimit()
    near_duplicates: NearDuplicates = NearDuplicates()
    contradictory_pairs: CountLimit = CountLimit()
    length_bias: LengthBias = LengthBias()
    position_bias: PositionBias = PositionBias()
    prompt_leakage_exact: CountLimit = CountLimit()
    prompt_leakage_near: PromptLeakageNear = PromptLeakageNear()
    pii: Pii = Pii()
    contamination: Contamination = Contamination()
    truncation_dropped: WarnCountLimit = WarnCountLimit()
    truncation_identical: CountLimit = CountLimit()
    chat_template_roundtrip: CountLimit = CountLimit()
    double_bos: CountLimit = CountLimit()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    def get(self, check_id: str) -> CheckSettings:
        return getattr(self, "schema_" if check_id == "schema" else check_id)


class MinHashSettings(_Strict):
    """MinHash LSH used by the near-duplicate, near-identical and near-leakage checks."""

    #: Word n-grams per shingle (texts shorter than this are one shingle).
    shingle_words: Count = Field(3, ge=1)
    #: One-permutation MinHash buckets per text; must be ``bands`` times the rows per band.
    num_perm: Count = Field(64, ge=4, le=512)
    #: LSH bands. With 64 buckets in 16 bands of 4, pairs at Jaccard 0.8 become candidates with
    #: probability 0.9998 and pairs at 0.3 with 0.12; candidates are then verified exactly.
    bands: Count = Field(16, ge=1)
    #: Seed of the shingle hashes; the hashing library takes an unsigned 64-bit seed.
    seed: Count = Field(0, ge=0, lt=2**64)

    @model_validator(mode="after")
    def _divisible(self) -> MinHashSettings:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        return self


class CheckConfig(_Strict):
    """The whole thresholds config of ``prefdata check``."""

    checks: Checks = Checks()
    minhash: MinHashSettings = MinHashSettings()


CHECK_IDS: tuple[str, ...] = tuple(
    (f.alias or name) for name, f in Checks.model_fields.items()
)


def load_config(config: CheckConfig | dict | str | Path | None) -> CheckConfig:
    """A validated :class:`CheckConfig` from a file (YAML or JSON), a dict, or defaults for ``None``."""
    if config is None:
        return CheckConfig()
    if isinstance(config, CheckConfig):
        return config
    origin = "config"
    if isinstance(config, (str, Path)):
        path = Path(config)
        origin = str(path)
        try:
            text = read_text(path)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(not_text(path, exc)) from None
        try:
            config = load_json(text) if path.suffix == ".json" else load_data_yaml(text, name=str(path))
        except (json.JSONDecodeError, DuplicateKeyError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
        if config is None:
            config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{origin}: expected a mapping with 'checks' and/or 'minhash', got {type(config).__name__}")
    try:
        return CheckConfig.model_validate(config)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "bool_type" and str(err.get("input")).lower() in YAML11_BOOLEANS:
                msg += f" (YAML 1.2, as in the build config: write true or false, not {err['input']})"
            elif isinstance(err.get("input"), str) and (number := underscored_number(err["input"])) is not None:
                msg += f" (YAML 1.2, as in the build config: write {number}, not {err['input']})"
            if err["type"] == "extra_forbidden":
                msg = "unknown field" + (f" (checks are: {', '.join(CHECK_IDS)})" if where.startswith("checks.") and where.count(".") == 1 else "")
            problems.append(f"{origin}: {where}: {msg}")
        raise ConfigError("\n".join(problems)) from exc
