"""How the report writes numbers: one rule for the tiles, tables, plots' titles and check statistics.

A reader compares numbers side by side (median chosen vs rejected length), so they must look alike:
``1,412.5`` next to ``1,412``, never ``1.41e+03``. Scientific notation is kept only for magnitudes
where fixed decimals would be all zeros (below 0.001) or absurdly long (1e15 and up).
"""

from __future__ import annotations

import math


def decimal(value: float, digits: int = 3) -> str:
    """A float with thousands separators and at most ``digits`` significant decimals, trailing zeros cut.

    >>> decimal(1412.5), decimal(1412.0), decimal(0.52), decimal(2.0 / 3), decimal(1234567.891)
    ('1,412.5', '1,412', '0.52', '0.667', '1,234,567.891')
    """
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e15):
        return f"{value:.{digits}g}"
    # Below 1, keep `digits` significant digits (0.000123 -> 0.000123); from 1 up, `digits` decimals at most.
    places = digits if magnitude >= 1 or magnitude == 0 else digits - 1 - math.floor(math.log10(magnitude))
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
