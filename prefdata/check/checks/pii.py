"""``pii``: personal data and secrets in prompts or responses.

Kinds: e-mail addresses, phone numbers (North American formats with separators, and ``+``
international numbers), API-key-like secrets (OpenAI/Anthropic ``sk-``, AWS ``AKIA``, GitHub, Slack,
Google, Hugging Face, GitLab tokens, PEM private keys) and payment card numbers (13-19 digits, a
known network prefix, and a valid Luhn checksum, which rules out ~90% of random digit runs).

The kinds are joined into one alternation that polars' regex engine runs as a single DFA scan of
each text column in the single pass (ASCII classes, no look-around: four separate scans cost twice
as much), keeping only the matched strings. Those few matches are then classified by kind, and card
candidates Luhn-checked, as list expressions after the pass.

The alternation starts with character classes, so the engine cannot skip ahead and crawls through
every byte. Most texts hold no ``@``, no pair of digits and no token prefix, so a *prefilter* of
cheap necessary conditions (:data:`PREFILTERS`, literal-led scans polars runs at memchr speed)
picks the candidate texts first and the alternation runs on those alone: the same matches at about
half the cost of scanning everything (1M benchmark pairs: see the README's check benchmark).
"""

from __future__ import annotations

import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural, share
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome

TEXT_COLUMNS = ("prompt_text", "chosen_text", "rejected_text")

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE = (
    r"(?:^|[^0-9A-Za-z+])(?:(?:\+?1[ .-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    r"|\+[0-9]{1,3}[ .-]?[0-9]{2,4}(?:[ .-]?[0-9]{2,4}){2,4})(?:$|[^0-9])"
)
SECRET = (
    r"sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
#: 13-19 digits, optionally grouped by single spaces or dashes, not glued to other digits.
CARD_CANDIDATE = r"(?:^|[^0-9])([0-9](?:[ -]?[0-9]){12,18})(?:$|[^0-9])"
#: Visa, Mastercard, Amex, Discover, Diners, JCB.
CARD_PREFIX = r"^(?:4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|3[0689]|35)"
#: Order matters: at one position the first alternative that matches wins (a card before a phone).
ORDER = ("secret", "email", "card", "phone")
PATTERNS = {"email": EMAIL, "phone": PHONE, "secret": SECRET, "card": CARD_CANDIDATE}


#: Two digits, adjacent or split by one space or dash: every phone and card number has them.
DIGIT_PAIR = r"[0-9][0-9]|[0-9][ -][0-9]"
#: For each kind, a pattern every match of the kind contains (a necessary condition, tested in
#: tests/check/test_pii_prefilter.py): an e-mail has an ``@``, a secret starts with a token prefix.
PREFILTERS = {
    "email": "@",
    "phone": DIGIT_PAIR,
    "card": DIGIT_PAIR,
    "secret": r"sk-|AKIA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|hf_|glpat-|-----BEGIN ",
}


def combined_pattern(kinds: tuple[str, ...]) -> str:
    return "|".join(f"(?:{PATTERNS[k]})" for k in ORDER if k in kinds)


def candidate(text: pl.Expr, kinds: tuple[str, ...]) -> pl.Expr:
    """Whether ``text`` can hold a match of any of ``kinds``: one scan per distinct prefilter.

    Separate scans, because polars' regex engine runs an alternation of them 4x slower than the
    scans one by one.
    """
    scans = dict.fromkeys(PREFILTERS[k] for k in ORDER if k in kinds)
    return pl.any_horizontal([text.str.contains(p, literal=p == "@") for p in scans]).fill_null(False)


def find_matches(text: pl.Expr, kinds: tuple[str, ...]) -> pl.Expr:
    """Every match of ``kinds`` in ``text`` (an empty list for null text or no match)."""
    return pl.when(candidate(text, kinds)).then(text).otherwise(pl.lit("")).str.extract_all(combined_pattern(kinds))


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    s = config.checks.pii
    if not s.enabled or not s.kinds:
        return {}
    return {"_pii_matches": pl.concat_list(*[find_matches(pl.col(c), s.kinds) for c in TEXT_COLUMNS])}


def luhn_valid(digits: pl.Expr) -> pl.Expr:
    """Whether a string of digits passes the Luhn checksum (vectorized over a column)."""
    d = digits.str.reverse().str.split("").list.eval(pl.element().cast(pl.Int32))
    doubled = d.list.eval(
        pl.when(pl.int_range(pl.len()) % 2 == 1)
        .then(pl.when(pl.element() * 2 > 9).then(pl.element() * 2 - 9).otherwise(pl.element() * 2))
        .otherwise(pl.element())
    )
    return doubled.list.sum() % 10 == 0


def classify(matches: pl.DataFrame, kinds: tuple[str, ...]) -> pl.DataFrame:
    """One row per (``_row``, kind) found, from the exploded matched strings in column ``m``."""
    m = pl.col("m")
    digits = m.str.extract(r"([0-9][0-9 -]*[0-9])").str.replace_all(r"[^0-9]", "")
    tests = {
        "secret": m.str.contains(SECRET),
        "email": m.str.contains(EMAIL),
        "card": digits.str.len_bytes().is_between(13, 19) & digits.str.contains(CARD_PREFIX) & luhn_valid(digits),
        "phone": m.str.contains(PHONE),
    }
    found = [matches.filter(tests[k].fill_null(False)).select("_row", kind=pl.lit(k)) for k in ORDER if k in kinds]
    return pl.concat(found).unique() if found else pl.DataFrame(schema={"_row": pl.UInt32, "kind": pl.String})


def run(ctx: Context) -> list[CheckOutcome]:
    s = ctx.config.checks.pii
    if not s.enabled:
        return []
    f = ctx.frame
    if not s.kinds:
        return [count_outcome(ctx, "pii", [], {"pairs": 0}, "no PII kinds enabled")]
    matches = f.select("_row", m=pl.col("_pii_matches")).filter(pl.col("m").list.len() > 0).explode("m")
    found = classify(matches, s.kinds)
    counts = {k: found.filter(pl.col("kind") == k).height for k in ORDER if k in s.kinds}
    ids = ctx.ids_of_rows(found.get_column("_row").unique())
    statistic = {"pairs": len(ids), "share": share(len(ids), f.height), **{f"pairs_with_{k}": n for k, n in counts.items()}}
    found = [f"{n} with {k}" for k, n in counts.items() if n]
    message = f"{plural(len(ids), 'pair')} with personal data or secrets: {', '.join(found)}" if ids else "no e-mails, phone numbers, secrets or card numbers found"
    return [count_outcome(ctx, "pii", ids, statistic, message)]
