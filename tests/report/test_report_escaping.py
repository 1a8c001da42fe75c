"""Every text from the data is shown as text: in the HTML, in the SVG plots, in report.md and the card."""

from __future__ import annotations

import html as html_lib
import re

from prefdata.report import report
from prefdata.report.markdown import code, md
from tests.report.report_datasets import HOSTILE, XSS, canonical_row, msg, write_dataset


def outside_fences(markdown: str) -> str:
    """The parts of a Markdown document that a renderer interprets (fenced code is shown verbatim)."""
    out, fence = [], None
    for line in markdown.splitlines():
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.startswith(fence) and line.strip("`") == "":
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


def test_html_has_no_markup_from_the_data(rich_dataset):
    out, hostile = rich_dataset
    page = report(out, sample=200).html_path.read_text(encoding="utf-8")
    # No script, handler or image at all: the page has none of its own, so any would be injected.
    assert "<script" not in page.lower()
    assert not re.search(r"<[a-zA-Z][^<>]*\son[a-z]+\s*=", page), "an event handler attribute"
    assert "<img" not in page.lower()
    assert "<h1>broken layout</h1>" not in page
    assert page.count("<h1>") == 1
    # ... and the texts are there, escaped, so that the browser shows them as typed.
    assert html_lib.escape(XSS, quote=False) in page
    shown = html_lib.unescape(page)
    for text in HOSTILE:
        assert text.split("\n")[0] in shown, text
    # the hostile source name reaches the plots' SVG text escaped (matplotlib's XML writer)
    svgs = "".join(re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL))
    assert "arena&lt;script&gt;alert(4)&lt;/script&gt;" in svgs
    assert "$x^2$" not in svgs  # mathtext off: nothing of the data is parsed as TeX
    # the hostile pair is in the sample as a conversation
    assert f'data-pair-id="{hostile["id"]}"' in page


def test_markdown_report_and_card_escape_data(rich_dataset):
    out, _ = rich_dataset
    result = report(out, sample=200)
    for path in (result.md_path, result.card_path):
        text = path.read_text(encoding="utf-8")
        interpreted = outside_fences(text)
        assert "<script" not in interpreted.lower(), path.name
        assert "<img" not in interpreted.lower() and "<svg" not in interpreted.lower(), path.name
        assert "&lt;script&gt;" in interpreted, path.name  # shown, not dropped


def test_report_md_holds_no_conversation(tmp_path):
    """The README says report.md is for pull requests, without conversations; it showed three sampled
    pairs whole, so pasting it published raw data (an e-mail address here). The page still shows them."""
    rows = [canonical_row([msg("user", f"SECRET_PROMPT_{i} mail kathy.bates@example.com")], [msg("assistant", f"SECRET_CHOSEN_{i}")],
                          [msg("assistant", f"SECRET_REJECTED_{i}")], record=i + 1) for i in range(3)]
    result = report(write_dataset(tmp_path / "out", {"train": rows}), sample=3)
    text = result.md_path.read_text()
    assert "SECRET_" not in text and "kathy.bates" not in text and "```" not in text
    assert "The 3 pairs sampled with seed 0 are shown as conversations in `report.html` only" in text
    page = result.html_path.read_text()
    assert all(f"SECRET_{side}_{i}" in page for side in ("PROMPT", "CHOSEN", "REJECTED") for i in range(3))


def test_markdown_helpers():
    assert md("<b>a|b</b>\nnext `x`") == "&lt;b&gt;a\\|b&lt;/b&gt; next \\`x\\`"


def test_code_spans_show_ids_as_typed(tmp_path):
    """CommonMark reads neither backslash escapes nor entities in a code span: md()'s escaping there
    showed `near\\_identical\\_responses` and `pair\\_&lt;1&gt;`, which name nothing."""
    row = canonical_row([msg("user", "q")], [msg("assistant", "c")], [msg("assistant", "r")]) | {"id": "pair_<1>"}
    checks = {"rows": 1, "passed": False, "expectations": [],
              "checks": [{"id": "near_identical_responses", "severity": "warn", "passed": False, "message": "1 pair",
                          "offending_count": 1, "offending_ids": ["pair_<1>"]}]}
    out = write_dataset(tmp_path / "out", {"train": [row]}, checks=checks)
    result = report(out)
    text = result.md_path.read_text()
    assert "| **FAIL** | warn | `near_identical_responses` | 1 pair | 1 |" in text
    assert "Offending pairs of `near_identical_responses` (first 1): `pair_<1>`" in text
    assert "failed check `near_identical_responses` (warn)" in result.card_path.read_text()


def test_code_span_helper():
    assert code("a_b <c> & d") == "`a_b <c> & d`"
    assert code("x `y` z") == "``x `y` z``"
    assert code("`start") == "`` `start ``" and code(" padded ") == "`  padded  `"
    assert code("a|b") == "`a|b`" and code("a|b", cell=True) == "`a\\|b`"
    assert code("two\nlines") == "`two lines`" and code("") == "` `"


def test_svg_ids_are_prefixed_in_tags_not_in_data_text(tmp_path):
    """A source name that reads like an id attribute is data: the plot shows it as typed."""
    name = 'x id="a" href="#b" url(#c)'
    row = canonical_row([msg("user", "q")], [msg("assistant", "c")], [msg("assistant", "r")], source=name)
    page = report(write_dataset(tmp_path / "out", {"train": [row]}), card=False).html_path.read_text()
    svg = re.search(r'<svg role="img" aria-label="sources".*?</svg>', page, re.DOTALL).group(0)
    labels = [html_lib.unescape(t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.DOTALL)]
    assert name in labels
    tags = re.findall(r"<[^<>]*>", svg)
    assert any('id="sources-' in t for t in tags)
    assert not any(re.search(r'\bid="(?!sources-)|href="#(?!sources-)|url\(#(?!sources-)', t) for t in tags)


def test_bidi_controls_from_the_data_are_written_out(tmp_path):
    """An unclosed right-to-left override in a source name reversed the rest of its table row in a
    terminal (``| x<RLO>y | 5 | 1 |`` reads ``| x| 1 | 5 y``): every page shows it as ``\\u202e``."""
    controls = "".join(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
    rows = [
        canonical_row(
            [msg("user", f"q{i} a\u202eb")],
            [msg("assistant", "c longer")],
            [msg("assistant", "r")],
            source=f"totals{controls}evil",
            record=i,
        )
        for i in range(5)
    ]
    rows[0]["id"] = "id\u2067x"
    checks = {
        "rows": 5,
        "passed": False,
        "expectations": [],
        "checks": [
            {
                "id": "near_identical_responses",
                "severity": "warn",
                "passed": False,
                "message": "name\u202e",
                "offending_count": 1,
                "offending_ids": ["id\u2067x"],
            }
        ],
    }
    result = report(write_dataset(tmp_path / "out", {"train": rows}, checks=checks), sample=5)
    for path in (result.md_path, result.card_path, result.html_path):
        text = path.read_text(encoding="utf-8")
        assert not any(ch in text for ch in controls), path.name
        assert "name\\u202e" in text, path.name  # the check's message
        if path != result.card_path:  # the card lists the manifest's sources
            assert "totals\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069evil" in text, path.name
    md_text = result.md_path.read_text(encoding="utf-8")
    assert "`id\\u2067x`" in md_text  # in code spans too
    assert "a\\u202eb" in result.html_path.read_text(encoding="utf-8")  # and in messages (report.html shows them)
    assert "<svg" in result.html_path.read_text(encoding="utf-8")  # markup stays markup


def test_terminal_control_characters_from_the_data_are_written_out(tmp_path):
    """ESC and BEL from a source name or a message reached report.md, the card and report.html as
    is: `cat report.md` ran the data's terminal sequences (window title, clear screen, links)."""
    rows = [
        canonical_row(
            [msg("user", f"q{i} \x1b[2J\x1b]8;;http://x\x07link\x1b]8;;\x07")],
            [msg("assistant", "c longer\tand a tab\nand a line")],
            [msg("assistant", "r")],
            source="evil\x1b]0;title\x07name",
            record=i,
        )
        for i in range(5)
    ]
    result = report(write_dataset(tmp_path / "out", {"train": rows}), sample=5)
    for path in (result.md_path, result.card_path, result.html_path):
        text = path.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text, path.name
        if path != result.card_path:  # the card lists the manifest's sources
            assert "evil\\u001b\\]0;title\\u0007name" in text or "evil\\u001b]0;title\\u0007name" in text, path.name
    html_text = result.html_path.read_text(encoding="utf-8")
    assert "\\u001b[2J" in html_text and "and a tab" in html_text and "\t" in html_text  # tab and line feed kept


def test_c1_control_characters_from_the_data_are_written_out(tmp_path):
    """README: the C1 controls are written out as the C0 ones are: U+009B is a one-byte CSI that starts
    a terminal sequence, U+0085 a line break (NEL) that would split a table row."""
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", "yes")], [msg("assistant", "no")],
                          source="evil\x9b2J\x85src", record=i + 1) for i in range(3)]
    md_text = report(write_dataset(tmp_path / "out", {"train": rows})).md_path.read_text(encoding="utf-8")
    assert "\x9b" not in md_text and "\x85" not in md_text
    assert "| evil\\u009b2J\\u0085src |" in md_text


def test_each_known_role_keeps_its_class_and_others_are_role_other(tmp_path):
    """The page styles each message by role (`.msg.role-system`, `.msg.role-user`, `.msg.role-tool` in its
    CSS): a tool result keeps class role-tool; a role the page does not know becomes role-other, never markup."""
    prompt = [msg("system", "s"), msg("user", "q"), msg("tool", "lookup result"), msg("wizard", "?")]
    out = write_dataset(tmp_path / "out", {"train": [canonical_row(prompt, [msg("assistant", "yes")], [msg("assistant", "no")])]})
    html = report(out, card=False).html_path.read_text(encoding="utf-8")
    assert ".msg.role-tool .content" in html
    shown = re.findall(r'<div class="msg role-([^"]*)"><div class="role">([^<]*)</div>', html)
    assert shown == [("system", "system"), ("user", "user"), ("tool", "tool"), ("other", "wizard"),
                     ("assistant", "assistant"), ("assistant", "assistant")]
