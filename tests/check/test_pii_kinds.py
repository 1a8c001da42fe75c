"""``pii`` on the shapes real text has: cards printed next to other numbers, token prefixes inside
ordinary words, international phone layouts, and e-mail-shaped strings that are file names."""

from __future__ import annotations

import pytest

from prefdata.check import check
from prefdata.check.checks.pii import has_card
from tests.check.rows import ids_of, write_rows

FOUND = {
    "card then expiry and CVV: 4111 1111 1111 1111 05/27 123": "card",
    "card then a number: 4111-1111-1111-1111 123 now": "card",
    "card then a phone: 4111 1111 1111 1111 555-123-4567": "card",
    "a list index before it: Item 7 4111 1111 1111 1111 is my Visa": "card",
    "amex as printed: 3782 822463 10005": "card",
    "unbroken: 4111111111111111": "card",
    "France +33 1 23 45 67 89": "phone",
    "Japan +81-3-1234-5678": "phone",
    "UK +44 (0)20 7946 0958": "phone",
    "key sk-abcdefghijklmnopqrstuvwxyz0123": "secret",
    "stripe sk_live_abcdefghijklmnop1234": "secret",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36": "secret",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----": "secret",
    "write to jane.doe+news@example.co.uk": "email",
    "Paraguay and Moldova: juan@gobierno.py, ion@guvern.md": "email",
    "in Markdown _bob@example.com_ and __alice@example.org__": "email",
    "a backup of carol@example.net_backup": "email",
    "19 digits printed: 4111 1111 1111 1111 113": "card",
    "13-digit Visa: 4222 2222 2222 2": "card",
    "numbers on both sides: Row 7 4111 1111 1111 1111 05": "card",
    "a list number and a CVV: Pay with 2 5555 5555 5555 4444 123": "card",
    "amex between a date and a CVV: 2024-05-01 3782 822463 10005 1234": "card",
    # the kinds' edges (module docstring of prefdata.check.checks.pii): a 3-digit country code, each
    # token family at its shortest length, and the PKCS#8 PEM header, which names no algorithm
    "Ireland +353 1 234 5678": "phone",
    "a 20-character key sk-abcdefghijklmnopqrst": "secret",
    "restricted stripe key rk_live_abcdefghijklmnop": "secret",
    "aws AKIAIOSFODNN7EXAMPLE": "secret",
    "github refresh token ghr_abcdefghijklmnopqrstuvwxyz0123456789": "secret",
    "hugging face hf_abcdefghijklmnopqrstuvwxyz0123": "secret",
    "-----BEGIN PRIVATE KEY-----": "secret",
    "slack refresh token xoxr-abcdefghij": "secret",
    "google key AIza" + "SyA" + "b" * 32: "secret",
    "gitlab glpat-abcdefghij0123456789": "secret",
    "fine-grained github_pat_abcdefghij0123456789AB": "secret",
}
NOT_FOUND = (
    "the task-management-system-redesign-plan-for-q3 board",
    "see /ask-the-experts-and-community-forum-now",
    "digits 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 in a row",
    "pairs 41 11 11 11 11 11 11 11 in a table",
    "retina asset icon@2x.png and logo@2x.jpeg",
    "assets hero@2x.avif, clip@2x.mp4, photo@2x.heic, icon@2x.tiff and font@2x.woff2",
    "nightly torch@2.1.0.dev0 and pkg@3.11.post1",
    "clone git@github.com:org/repo.git",
    "a 20-digit number 41111111111111111111 is not a card",
    "version pkg@1.2.3 and the date 2023-01-15",
    "a table row 1203 4111 1111 1111 1111 7788 9900 of counts",  # a card-shaped window inside a longer run
    "a table row 12 4111 1111 1111 1111 7788 99 of counts",  # the same with a 4-digit group on one side
    # e-mail exceptions are read case-insensitively; a phone number starts after no letter (an ID)
    "RETINA ASSET ICON@2X.PNG",
    "clone GIT@github.com:org/repo.git",
    "order ref AB555-123-4567",
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    texts = [*FOUND, *NOT_FOUND]
    out = write_rows(tmp_path_factory.mktemp("pii"), [{"prompt": t, "chosen": "I will not keep that.", "rejected": "Noted."} for t in texts])
    return out, check(out, write=False).check("pii")


def test_every_planted_kind_is_found_and_nothing_else(result):
    out, outcome = result
    assert set(outcome.offending_ids) == ids_of(out, lambda p: p in FOUND), outcome.message
    assert outcome.statistic["pairs"] == len(FOUND)  # pairs, not (pair, kind) findings
    kinds = {kind: sum(1 for k in FOUND.values() if k == kind) for kind in ("email", "phone", "secret", "card")}
    # the card printed next to a phone number is a pair with a phone too
    assert outcome.statistic["pairs_with_card"] == kinds["card"]
    assert outcome.statistic["pairs_with_phone"] == kinds["phone"] + 1
    assert outcome.statistic["pairs_with_secret"] == kinds["secret"]
    assert outcome.statistic["pairs_with_email"] == kinds["email"]


@pytest.mark.parametrize(
    ("run", "card"),
    [("4111 1111 1111 1111 05", True), ("7 4111-1111-1111-1111", True), ("4111 1111 1111 1112", False),
     ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", False), ("41111111111111112", False), ("3782 822463 10005", True),
     # inside a longer run: only between groups of another width than the card's groups beside them
     ("7 4111 1111 1111 1111 05", True), ("2 5555 5555 5555 4444 123", True), ("1 2 4111-1111-1111-1111 05 27", True),
     ("12 3782 822463 10005 123", True), ("01 3782 822463 10005 1234", True), ("1 3056 930902 5904 22", True),
     ("1203 4111 1111 1111 1111 7788", False), ("12 4111 1111 1111 1111 7788 99", False), ("12 1234 4111 1111 1111 1111 05", False),
     ("7 4111 1111 1111 1112 05", False),
     # at the run's end a card is read whatever precedes it; inside, the 13-digit 4-4-4-1 and 19-digit
     # 4-4-4-4-3 prints are not tried: their short tail is any number list's next number
     ("1234 4111 1111 1111 1111", True), ("12 4821 3307 9912 8 27 365", False), ("9 4111 1111 1111 1111 123 45", True)],
)
def test_has_card_reads_the_printed_groups(run, card):
    assert has_card(run) is card


def test_an_unbroken_19_digit_card_is_a_card():
    """README (pii): a card number is 13-19 digits, unbroken or printed: a Luhn-valid 19-digit Visa
    (4012 8888 8888 1880 005; the checksum computed here) is one, unbroken."""
    card = "4012888888881880005"

    def luhn(number: str) -> bool:
        digits = [int(d) for d in reversed(number)]
        return sum(d if i % 2 == 0 else (2 * d if d < 5 else 2 * d - 9) for i, d in enumerate(digits)) % 10 == 0

    assert len(card) == 19 and luhn(card)
    assert has_card(card)
    assert has_card(card[:16]) is luhn(card[:16])


def _luhn(number: str) -> bool:
    """The Luhn checksum, written from its definition: double every second digit from the right."""
    total = 0
    for i, d in enumerate(int(c) for c in reversed(number)):
        total += sum(divmod(2 * d, 10)) if i % 2 else d
    return total % 10 == 0


@pytest.mark.parametrize(
    ("number", "card"),
    [("4222222222222", True),  # an unbroken 13-digit Visa: 13 digits is the shortest card
     ("41111111111111111115", False),  # 20 digits, Luhn-valid: longer than any card
     ("2720990000000007", True),  # Mastercard 2-series (2221-2720)
     ("2221000000000009", True),
     ("6011111111111117", True),  # Discover
     ("6440000000000005", True),  # Discover 644-649
     ("3530111333300000", True),  # JCB
     ("30000000000004", True),  # Diners, 14 digits
     ("1234567890123452", False),  # Luhn-valid, but no network starts with 1 (a "4" inside it is no prefix)
     ("9411111111111117", False)],
)
def test_a_card_needs_13_to_19_digits_a_network_prefix_and_the_luhn_checksum(number, card):
    """README (pii) and ``CARD_PREFIX``: a card number is 13-19 digits with a known network prefix
    (Visa 4, Mastercard 51-55 and 22-27, Amex 34/37, Discover 6011/65/644-649, Diners 30/36/38/39,
    JCB 35) and a valid Luhn checksum (each number's checksum is verified here)."""
    assert _luhn(number)
    assert has_card(number) is card


def test_no_kinds_is_a_skip_not_a_pass(result):
    out, _ = result
    outcome = check(out, config={"checks": {"pii": {"kinds": []}}}, write=False).check("pii")
    assert outcome.skipped and outcome.offending_ids == []


def test_a_pass_names_only_the_kinds_it_searched_for(tmp_path):
    """With ``kinds: [email]`` the pass said "no e-mails, phone numbers, secrets or card numbers found"."""
    out = write_rows(tmp_path, [{"prompt": "call (202) 225-2815 with AKIAIOSFODNN7EXAMPLE", "chosen": "No.", "rejected": "Ok."}])
    outcome = check(out, config={"checks": {"pii": {"kinds": ["email"]}}}, write=False).check("pii")
    assert outcome.passed and outcome.message == "no e-mails found"
    both = check(out, config={"checks": {"pii": {"kinds": ["email", "card"]}}}, write=False).check("pii")
    assert both.message == "no e-mails or card numbers found"



#: Kinds written one against the other: in one alternation of the kinds the first match took the
#: text of the next (an international phone number the first groups of a card after it, a secret
#: the start of an e-mail address), so the default kinds found fewer than ``kinds: [card]``.
SIDE_BY_SIDE = {
    "Call +44 20 7946 0958 4111 1111 1111 1111": {"phone", "card"},
    "+44 20 7946 0958 3782 822463 10005": {"phone", "card"},
    "2024 +44 20 7946 0958-4111 1111 1111 1111": {"phone", "card"},
    "john.doe@example.com4111 1111 1111 1111,": {"card"},  # "com4111" is no top-level domain
    "ghp_" + "a" * 36 + "4111 1111 1111 1111 hf_" + "b" * 30: {"secret", "card"},
    "sk-abcdefghijklmnopqrstuvwx12-a_b@mail.co.uk": {"secret", "email"},
    "sk-abcdefghijklmnopqrstuvwx12-(212) 555-0143": {"secret", "phone"},
    "icon@2x.png5555-5555-5555-4444 1234": {"card"},
}


def test_each_kind_counts_as_when_it_is_searched_for_alone(tmp_path):
    out = write_rows(tmp_path, [{"prompt": t, "chosen": "I will not keep that.", "rejected": "Noted."} for t in SIDE_BY_SIDE])
    every = check(out, write=False).check("pii")
    assert set(every.offending_ids) == ids_of(out, lambda p: p in SIDE_BY_SIDE)
    for kind in ("email", "phone", "secret", "card"):
        expected = ids_of(out, lambda p, kind=kind: kind in SIDE_BY_SIDE[p])
        alone = check(out, config={"checks": {"pii": {"kinds": [kind]}}}, write=False).check("pii")
        assert set(alone.offending_ids) == expected, kind
        assert every.statistic[f"pairs_with_{kind}"] == len(expected), (kind, every.message)
