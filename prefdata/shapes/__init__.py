"""Shape adapters: one raw layout each, turned into canonical preference pairs.

``make_shape(source, sample)`` builds the adapter a source config names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefdata.config import SourceBase
from prefdata.shapes.base import Shape


def make_shape(source: SourceBase, sample: Sequence[Mapping[str, Any]]) -> Shape:
    """The adapter for ``source`` (its field kinds sniffed from ``sample``)."""
    shape = getattr(source, "shape")
    if shape == "preference":
        from prefdata.shapes.preference import PreferenceShape

        return PreferenceShape(source, sample)  # type: ignore[arg-type]
    if shape == "transcript":
        from prefdata.shapes.transcript import TranscriptShape

        return TranscriptShape(source, sample)  # type: ignore[arg-type]
    if shape == "pairwise":
        from prefdata.shapes.pairwise import PairwiseShape

        return PairwiseShape(source, sample)  # type: ignore[arg-type]
    if shape == "rated":
        from prefdata.shapes.rated import RatedShape

        return RatedShape(source, sample)  # type: ignore[arg-type]
    if shape == "ranked":
        from prefdata.shapes.rated import RankedShape

        return RankedShape(source, sample)  # type: ignore[arg-type]
    if shape == "feedback":
        from prefdata.shapes.feedback import FeedbackShape

        return FeedbackShape(source, sample)  # type: ignore[arg-type]
    if shape == "tree":
        from prefdata.shapes.tree import TreeShape

        return TreeShape(source, sample)  # type: ignore[arg-type]
    if shape == "custom":
        from prefdata.shapes.custom import CustomShape

        return CustomShape(source, sample)  # type: ignore[arg-type]
    raise ValueError(f"unknown shape {shape!r}")
