"""Shape adapters: one raw layout each, turned into canonical preference pairs.

``make_shape(source, sample)`` builds the adapter a source config names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from prefdata.config import SourceBase
from prefdata.shapes.base import Shape

#: shape name -> "module:Class" (imported on first use, so a build loads only the shapes it needs)
ADAPTERS = {
    "preference": "prefdata.shapes.preference:PreferenceShape",
    "transcript": "prefdata.shapes.transcript:TranscriptShape",
    "pairwise": "prefdata.shapes.pairwise:PairwiseShape",
    "rated": "prefdata.shapes.rated:RatedShape",
    "ranked": "prefdata.shapes.rated:RankedShape",
    "feedback": "prefdata.shapes.feedback:FeedbackShape",
    "tree": "prefdata.shapes.tree:TreeShape",
    "custom": "prefdata.shapes.custom:CustomShape",
}


def make_shape(source: SourceBase, sample: Sequence[Mapping[str, Any]]) -> Shape:
    """The adapter for ``source`` (its field kinds sniffed from ``sample``)."""
    module, _, cls = ADAPTERS[source.shape].partition(":")
    return getattr(importlib.import_module(module), cls)(source, sample)
