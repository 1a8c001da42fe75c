"""``pii``: personal data and secrets in prompts or responses.

Kinds: e-mail addresses, phone numbers (North American formats with separators, and ``+``
international numbers, trunk ``(0)`` included), API-key-like secrets (OpenAI/Anthropic ``sk-``,
Stripe, AWS ``AKIA``, GitHub, Slack, Google, Hugging Face, GitLab tokens, JWTs, PEM and PGP private
keys) and payment card numbers (13-19 digits, written as one run or in printed groups
(:data:`CARD_GROUPS`), a known network prefix, and a valid Luhn checksum, which rules out ~90% of
random digit runs).

Each kind is its own scan of each text column in the single pass (polars' regex engine, ASCII
classes, ASCII word boundaries, no look-around), keeping only the matched strings; the few matches
are then tested as their kind after the pass:

- a card candidate is a whole run of 13 or more digits split by single spaces or dashes, so a card
  next to an expiry date, a CVV or a phone number is one run; the run's first and last groups shaped
  like a printed card, and such groups inside it between groups of other widths, are Luhn-checked
  (:func:`has_card`);
- e-mail-shaped matches whose "domain" ends in a file extension (``icon@2x.png``) or that are SSH
  remotes (``git@github.com``) are not addresses;
- token prefixes must start a word, so ``task-management-...`` is not an ``sk-`` key.

Not one alternation of the kinds: its matches do not overlap, so one kind's match took the text of
another (the international phone number ``+44 20 7946 0958`` swallowed the first groups of the card
``4111 1111 1111 1111`` after it, a secret the start of an e-mail address), and the default kinds
found fewer cards than ``kinds: [card]``. Scanned apart, a kind's count is the count with that kind
alone, whatever else is searched for.

The patterns start with character classes, so the engine cannot skip ahead and crawls through
every byte. Most texts hold no ``@``, no pair of digits and no token prefix, so a *prefilter* of
cheap necessary conditions (:data:`PREFILTERS`, literal-led scans polars runs at memchr speed)
picks each kind's candidate texts first and its scan runs on those alone: the e-mail and secret
scans on the few texts with an ``@`` or a token prefix, the phone and card scans on texts with two
digits (1M benchmark pairs: see the README's check benchmark).
"""

from __future__ import annotations

import re

import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural, share, skipped
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome

TEXT_COLUMNS = ("prompt_text", "chosen_text", "rejected_text")

#: The match takes the letters and digits right after the top-level domain, so "clip@2x.mp4" and
#: "torch@2.1.0.dev0" are seen whole (a top-level domain holds no digit: a file name or a version),
#: not as addresses at "clip@2x.mp" and "torch@2.1.0.dev", while "_bob@example.com_" (Markdown)
#: and "carol@example.net_backup" are still addresses.
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}[A-Za-z0-9]*"
#: "Domains" of e-mail-shaped strings that are file names (``icon@2x.png``), and SSH remotes' user.
#: (Only extensions that are not real top-level domains: .py, .md and .zip are.)
NOT_EMAIL_TLDS = ("png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif", "heic", "heif", "tif", "tiff", "jfif", "webm",
                  "ttf", "otf", "eot", "woff", "psd", "css", "scss", "sass", "js", "jsx", "tsx", "vue", "wasm", "html", "htm",
                  "xml", "json", "yaml", "yml", "toml", "ini", "cfg", "csv", "tsv", "log", "lock", "txt", "pdf", "git")
NOT_EMAIL_USERS = ("git",)
PHONE = (
    r"(?:^|[^0-9A-Za-z+])(?:(?:\+?1[ .-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    r"|\+[0-9]{1,3}[ .-]?(?:\(0\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4})(?:$|[^0-9])"
)
#: ASCII word boundary: a token prefix inside a word (``task-``, ``shelf_``) is not a token. The
#: ASCII form keeps the scan on the DFA for non-ASCII text (a Unicode ``\b`` makes it fall back).
WORD_START = r"(?-u:\b)"
SECRET = (
    WORD_START
    + r"(?:sk-[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----"
)
#: A run of 13+ digits split by single spaces or dashes; :func:`has_card` finds the card inside it.
CARD_CANDIDATE = r"[0-9](?:[ -]?[0-9]){12,}"
#: Visa, Mastercard, Amex, Discover, Diners, JCB.
CARD_PREFIX = r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|3[0689]|35)"
#: Printed groupings: 4-4-4-4 (most networks), 4-4-4-4-3 (19 digits), 4-4-4-1 (13-digit Visa),
#: 4-6-5 (Amex), 4-6-4 (Diners).
CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1), (4, 6, 5), (4, 6, 4))
#: The groupings tried inside a longer run (a number on both sides): the common card prints only. A
#: 13-digit Visa's lone last digit or a 19-digit card's 3-digit tail looks like any list's next number.
INNER_CARD_GROUPS = ((4, 4, 4, 4), (4, 6, 5), (4, 6, 4))
#: The order kinds are listed in (statistics, messages).
ORDER = ("secret", "email", "card", "phone")
#: How a pass names the kinds it searched for (only those ``checks.pii.kinds`` lists).
KIND_NAMES = {"email": "e-mails", "phone": "phone numbers", "secret": "secrets", "card": "card numbers"}
PATTERNS = {"email": EMAIL, "phone": PHONE, "secret": SECRET, "card": CARD_CANDIDATE}


#: Two digits, adjacent or split by one space or dash: every phone and card number has them.
DIGIT_PAIR = r"[0-9][0-9]|[0-9][ -][0-9]"
#: For each kind, a pattern every match of the kind contains (a necessary condition, tested in
#: tests/check/test_pii_prefilter.py): an e-mail has an ``@``, a secret starts with a token prefix.
PREFILTERS = {
    "email": "@",
    "phone": DIGIT_PAIR,
    "card": DIGIT_PAIR,
    "secret": r"sk-|[sr]k_live_|[sr]k_test_|AKIA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|hf_|glpat-|eyJ|-----BEGIN ",
}


def candidate(text: pl.Expr, kinds: tuple[str, ...]) -> pl.Expr:
    """Whether ``text`` can hold a match of any of ``kinds``: one scan per distinct prefilter.

    Separate scans, because polars' regex engine runs an alternation of them 4x slower than the
    scans one by one.
    """
    scans = dict.fromkeys(PREFILTERS[k] for k in ORDER if k in kinds)
    return pl.any_horizontal([text.str.contains(p, literal=p == "@") for p in scans]).fill_null(False)


def find_matches(text: pl.Expr, kind: str) -> pl.Expr:
    """Every match of ``kind`` in ``text``: a list, empty or null when there is none (null where the
    prefilter rules the text out or the text is null).

    Null, not the scan of an empty text: a null where the prefilter fails only masks ``text``, while
    ``otherwise("")`` copied every text, once per kind: the four scans took about twice the time of
    one alternation of the kinds with it, a little less without.
    """
    return pl.when(candidate(text, (kind,))).then(text).str.extract_all(PATTERNS[kind])


def match_column(kind: str) -> str:
    """The single pass's column of ``kind``'s matches: a struct of :func:`find_matches` lists, one
    field per text column (not one list: ``concat_list`` is null when one of its lists is)."""
    return f"_pii_{kind}"


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    s = config.checks.pii
    if not s.enabled:
        return {}
    return {match_column(k): pl.struct(*[find_matches(pl.col(c), k).alias(c) for c in TEXT_COLUMNS]) for k in ORDER if k in s.kinds}


_PREFIX = re.compile(CARD_PREFIX)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def has_card(run: str) -> bool:
    """Whether a digit run (:data:`CARD_CANDIDATE`) holds a card number: the run itself when it is
    one unbroken group of 13-19 digits, or groups of it printed as a card (:data:`CARD_GROUPS`) with
    a network prefix and a valid Luhn checksum. Printed groups count at either end of the run (a card
    followed by an expiry date or CVV, or after a list number) or inside it when the groups beside
    them are of another width than the card's groups they touch (``Row 7 4111 1111 1111 1111 05``:
    a number on both sides; :data:`INNER_CARD_GROUPS` only). A window inside the run with a group as wide as its own beside it is
    not tried: in a table of 4-digit numbers every few rows would hold a Luhn-valid window by
    chance, and which four groups would be the card is anyone's guess.

    >>> has_card("4111 1111 1111 1111 05"), has_card("7 4111-1111-1111-1111"), has_card("7 4111 1111 1111 1111 05")
    (True, True, True)
    >>> has_card("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"), has_card("1203 4111 1111 1111 1111 7788 9900")
    (False, False)
    """
    groups = re.split(r"[ -]", run)
    windows = [g for g in groups if 13 <= len(g) <= 19]
    lengths = [len(g) for g in groups]
    n = len(groups)
    # every printed shape opens with a 4-digit group: only those positions can start one (a list of
    # short numbers is passed over at once)
    for start in (i for i, width in enumerate(lengths) if width == 4):
        for shape in CARD_GROUPS:
            end = start + len(shape)
            if end > n:
                continue
            if 0 < start and end < n and (shape not in INNER_CARD_GROUPS or lengths[start - 1] == 4 or lengths[end] == shape[-1]):
                continue  # inside the run, beside a group as wide as its own end
            if tuple(lengths[start:end]) == shape:
                windows.append("".join(groups[start:end]))
    return any(_PREFIX.match(w) and _luhn(w) for w in windows)


def _is_email(m: pl.Expr) -> pl.Expr:
    address = m.str.extract(f"({EMAIL})")
    tld = address.str.extract(r"\.([A-Za-z0-9]+)$").str.to_lowercase()
    user = address.str.extract(r"^([^@]+)@").str.to_lowercase()
    real_tld = ~tld.str.contains("[0-9]")  # mp4, woff2, dev0: a file name or a version
    return address.is_not_null() & real_tld & ~tld.is_in(list(NOT_EMAIL_TLDS)) & ~user.is_in(list(NOT_EMAIL_USERS))


def _is_kind(kind: str, m: pl.Expr) -> pl.Expr:
    """Whether ``m``, a match of ``kind``'s own pattern, is one: a secret or phone match is; an
    e-mail-shaped one may be a file name, a card-shaped run fails the Luhn check most of the time."""
    if kind == "email":
        return _is_email(m)
    if kind == "card":
        return m.map_elements(has_card, return_dtype=pl.Boolean, skip_nulls=True)
    return pl.lit(True)


def classify(frame: pl.DataFrame, kinds: tuple[str, ...]) -> pl.DataFrame:
    """One row per (``_row``, kind) found, from each kind's matches (:func:`match_column`) in ``frame``."""
    found = []
    for k in (k for k in ORDER if k in kinds):
        lists = [frame.select("_row", m=pl.col(match_column(k)).struct.field(c)) for c in TEXT_COLUMNS]
        matches = pl.concat(lists).filter(pl.col("m").list.len() > 0).explode("m")
        found.append(matches.filter(_is_kind(k, pl.col("m")).fill_null(False)).select("_row", kind=pl.lit(k)))
    return pl.concat(found).unique() if found else pl.DataFrame(schema={"_row": pl.UInt32, "kind": pl.String})


def run(ctx: Context) -> list[CheckOutcome]:
    s = ctx.config.checks.pii
    if not s.enabled:
        return []
    f = ctx.frame
    if not s.kinds:
        return [skipped(ctx, "pii", "no PII kinds enabled (checks.pii.kinds is empty)")]
    found = classify(f, s.kinds)
    counts = {k: found.filter(pl.col("kind") == k).height for k in ORDER if k in s.kinds}
    ids = ctx.ids_of_rows(found.get_column("_row").unique())
    statistic = {"pairs": len(ids), "share": share(len(ids), f.height), **{f"pairs_with_{k}": n for k, n in counts.items()}}
    found = [f"{n} with {k}" for k, n in counts.items() if n]
    searched = [name for k, name in KIND_NAMES.items() if k in s.kinds]
    none_found = f"no {', '.join(searched[:-1])} or {searched[-1]} found" if len(searched) > 1 else f"no {searched[0]} found"
    message = f"{plural(len(ids), 'pair')} with personal data or secrets: {', '.join(found)}" if ids else none_found
    return [count_outcome(ctx, "pii", ids, statistic, message)]
