"""Render ``report.md`` (terminals, pull requests) and the quality summary of the dataset card.

Neither holds a conversation: message text is raw data (names, e-mail addresses, secrets), and
``report.md`` is made to be pasted where the data may not go; the sampled and offending pairs are in
``report.html`` only. Markdown renderers pass raw HTML through, so the names and values from the data
they do hold (sources, splits, reasons, notes) are never pasted in as is: in prose and table cells
``&``, ``<`` and ``>`` become entities and Markdown punctuation is backslash-escaped; ids go into
inline code spans, fenced by a longer backtick run than any inside.
Everywhere, explicit bidi controls and control characters are written out (``\\u202e``,
``\\u001b``): left in, an override from the data reverses the rest of a terminal line, and an ESC
starts a terminal sequence.
"""

from __future__ import annotations

import re

from prefdata.build.card import markdown_text as md  # text from the data, escaped for prose and cells
from prefdata.build.card import visible_controls
from prefdata.report.content import ReportContent, num, pct
from prefdata.report.examples import short_id
from prefdata.report.results import SharedId


def code(text: object, *, cell: bool = False) -> str:
    """``text`` as an inline code span (a check id, an expectation type, a pair id), shown as typed.

    CommonMark processes neither backslash escapes nor entities inside a code span, so :func:`md`
    would show its escapes (``near\\_identical``, ``&lt;``) there: the text goes in unescaped, between
    fences longer than any backtick run in it, padded with a space where it starts or ends with a
    backtick or a space (the renderer strips one space from each side). ``cell``: inside a GFM table
    row, where ``|`` splits cells even in a code span unless escaped (the renderer drops that backslash).
    Line breaks become spaces, as a renderer shows them in a code span, so the line stays one line,
    and bidi controls and control characters are written out (:func:`~prefdata.build.card.visible_controls`), as everywhere.
    """
    s = visible_controls(re.sub(r"[\r\n]+", " ", str(text)))
    if cell:
        s = s.replace("|", "\\|")
    if not s:
        return "` `"
    fence = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    # a span of spaces alone keeps them all (CommonMark strips a pad only from text that is not all spaces)
    pad = " " if (s[0] in "` " or s[-1] in "` ") and s.strip(" ") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _verdict_line(c: ReportContent) -> str:
    # The verdict is prefdata's own sentence (no data text), written as Markdown. Notes are not: they
    # quote shard names, manifest values and reader errors, so render_markdown escapes them.
    return f"**{c.verdict['headline']}** — {c.verdict['detail']}"


def _distribution_lines(c: ReportContent) -> list[str]:
    s = c.stats
    if not c.pairs:
        return ["- No pairs."]
    lines = [
        (f"- Response length (characters): median chosen {num(s['median_chosen_chars'])}, rejected "
        f"{num(s['median_rejected_chars'])}; chosen is longer in {pct(s['share_chosen_longer'])} of pairs, "
        f"the same length in {pct(s['share_same_length'])}."),
        f"- Prompts: median {num(s['median_prompt_chars'])} characters; {pct(s['share_multi_turn'])} have more than one user turn.",
    ]
    if "scored_pairs" in s:
        lines.append(f"- Score margin: {num(s['scored_pairs'])} scored pairs, median {num(s['median_margin'])}, "
                     f"{num(s['non_positive_margins'])} at or below 0.")
    else:
        lines.append("- Score margin: not applicable (no scores).")
    if "a_wins" in s:
        for source, v in s["a_wins"].items():
            lines.append(f"- \"A wins\" in {md(source)}: {pct(v['share_a'])} of {num(v['pairs'])} "
                         f"(95% interval {pct(v['low'])}–{pct(v['high'])}).")
    else:
        lines.append("- \"A wins\" share: not applicable (no pairwise positions).")
    for plot in c.plots:
        if plot.id == "tokens" and plot.svg is None:
            lines.append("- Token length vs max_length: not applicable (no token lengths in checks.json).")
    return lines


def render_markdown(c: ReportContent) -> str:
    """The whole ``report.md``."""
    lines = [f"# Quality report: {md(c.name)}", "", _verdict_line(c), ""]
    lines += _table([md(t["label"]) for t in c.tiles], [[md(t["value"]) for t in c.tiles], [md(t["sub"]) for t in c.tiles]])
    lines.append("")
    for note in c.notes:
        lines.append(f"> {md(note)}")
    if c.notes:
        lines.append("")

    lines += ["## Counts", ""]
    lines += _table(["stage", "count"], [[md(a), b] for a, b in c.counts["stages"]], {1})
    lines += ["", "### Per source", ""]
    header = ["source"] + (["records read", "rejected"] if c.counts["has_reads"] else []) + ["pairs"] + [md(s) for s in c.counts["splits"]]
    rows = [[md(r["name"])] + ([r["read"], r["rejected"]] if c.counts["has_reads"] else []) + [r["pairs"]] + r["splits"]
            for r in c.counts["sources"]]
    lines += _table(header, rows, set(range(1, len(header))))
    if c.rejects["rows"]:
        lines += ["", "### Rejected records by reason", ""]
        lines += _table(["reason", "records"], [[md(r), num(n)] for r, n in c.rejects["rows"]], {1})

    lines += ["", "## Checks", ""]
    if c.checks_summary is None:
        lines.append(f"Not run: {c.checks_absent}. Run `prefdata check OUT`, then this report again (or `prefdata report OUT --run-checks`).")
    else:
        rows = [["**FAIL**" if v.status == "fail" else v.status, v.severity, code(v.id, cell=True), md(v.message), num(v.offending_count)]
                for v in c.checks]
        lines += _table(["status", "severity", "check", "message", "pairs"], rows, {4})
        failed = [e for e in c.expectations if not e.success]
        passed = len(c.expectations) - len(failed)
        if failed:
            lines += ["", "Failed expectations:", ""]
            lines += _table(["severity", "expectation", "arguments", "unexpected"],
                            [[md(e.severity), code(e.type, cell=True), md(e.kwargs), md(e.unexpected)] for e in failed], {3})
        if c.expectations:
            lines += ["", f"{passed} of {len(c.expectations)} expectations passed."]
        for v in c.checks:
            if not v.passed and v.offending_ids:  # distinct: copies of one pair share their id, named once as on the page
                lines += ["", f"Offending pairs of {code(v.id)} (first {len(v.offending_ids)}): "
                          + ", ".join(code(short_id(i)) for i in v.offending_ids)]
                lines += [_shared_id_line(shared) for shared in v.shared_ids]
                if v.missing_examples:  # as report.html says: an id listed here need not name a pair of this data
                    lines.append(f"({v.missing_examples} offending id(s) are not in the data: checks.json may be stale.)")

    lines += ["", "## Distributions", ""] + _distribution_lines(c)
    lines += ["", "Plots of these distributions are in `report.html`."]
    if c.sample:  # conversations are raw data (names, e-mail addresses): the page shows them, this text does not
        lines += ["", (f"The {num(len(c.sample))} pairs sampled with seed {c.seed} are shown as conversations in "
                       "`report.html` only: this file holds no message text.")]
    return "\n".join(lines).rstrip() + "\n"


def _shared_id_line(shared: SharedId) -> str:
    """Why an offending id shows more than one pair, or may not show the one that offended
    (see :func:`prefdata.report.results.check_views`)."""
    name = f"(Id {code(short_id(shared.id))} is shared by {num(shared.rows)} rows"
    if shared.differ:
        return f"{name} holding different pairs: checks.json cannot say which offends; report.html shows them.)"
    return (f"{name}: its first {shared.read}, read by the report, are copies of one pair; the pair that offended "
            f"may be in one of the other {num(shared.rows - shared.read)} row(s), not read.)")


def card_summary(c: ReportContent) -> str:
    """The short "Quality" section of the dataset card."""
    s = c.stats
    lines = [_verdict_line(c), ""]
    rows = [["pairs", f"{num(c.pairs)} (" + ", ".join(f"{md(k)} {num(v)}" for k, v in c.counts['pairs_by_split'].items()) + ")"]]
    if c.pairs:
        rows += [
            # of all pairs; check's length_bias leaves out pairs of equal length, so say how many there are
            ["chosen longer than rejected (of all pairs)", f"{pct(s['share_chosen_longer'])} ({pct(s['share_same_length'])} the same length)"],
            ["median length, chosen / rejected", f"{num(s['median_chosen_chars'])} / {num(s['median_rejected_chars'])} characters"],
            ["multi-turn prompts", pct(s["share_multi_turn"])],
        ]
    if "scored_pairs" in s:
        rows.append(["scored pairs with margin ≤ 0", f"{num(s['non_positive_margins'])} of {num(s['scored_pairs'])}"])
    for v in c.checks:
        if not v.passed:
            rows.append([f"failed check {code(v.id, cell=True)} ({v.severity})", md(v.message)])
    lines += _table(["", ""], rows)
    return "\n".join(lines)
