"""The preference checks, one module per family (see each module's docstring for what and why).

Each family exposes ``features(config)`` (per-row columns for the single pass) and ``run(ctx)``
(verdicts). :data:`FAMILIES` is the order they run in; results are listed in the order of
:data:`prefdata.check.config.CHECK_IDS`.
"""

from __future__ import annotations

from prefdata.check.checks import bias, contamination, leakage, near, pairs, pii, structure, tokenizer, trl_traps

FAMILIES = (structure, trl_traps, pairs, bias, leakage, pii, near, contamination, tokenizer)

__all__ = ["FAMILIES"]
