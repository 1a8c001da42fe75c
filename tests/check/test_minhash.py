"""The vectorized MinHash LSH: estimates track the exact Jaccard, and LSH finds what it must."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest

from prefdata.check import minhash as mh


def words(texts: list[str]) -> pl.Series:
    return pl.Series("t", texts).to_frame().select(mh.word_hash_expr(pl.col("t"))).to_series()


def exact_jaccard(a: str, b: str, n: int = 3) -> float:
    sets = mh.shingle_sets(words([a, b]), n)
    return pl.DataFrame({"a": sets[[0]], "b": sets[[1]]}).select(mh.jaccard_expr("a", "b")).item()


def reference_jaccard(a: str, b: str, n: int = 3) -> float:
    """Plain-Python Jaccard of word 3-grams with the same normalization, to check the vectorized one."""
    import string

    def grams(t: str) -> set[tuple[str, ...]]:
        w = [x.strip(string.punctuation) for x in t.lower().split()]
        w = [x for x in w if x]
        return {tuple(w)} if 0 < len(w) < n else {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


VOCAB = [f"w{i}" for i in range(2000)]


def doc(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def test_normalization_ignores_case_punctuation_and_spacing():
    assert exact_jaccard("Hello, World!  How are you?", "hello world how\nare you") == 1.0
    assert exact_jaccard("one two three four", "four three two one") == 0.0
    assert exact_jaccard("", "") == 0.0 and exact_jaccard("a b c", "") == 0.0  # no words: no shingle shared


@pytest.mark.parametrize("seed", range(5))
def test_exact_jaccard_matches_a_plain_python_reference(seed):
    rng = random.Random(seed)
    a = " ".join(doc(rng, 40))
    b = " ".join(w if rng.random() > 0.1 else rng.choice(VOCAB) for w in a.split())
    assert exact_jaccard(a, b) == pytest.approx(reference_jaccard(a, b))
    assert exact_jaccard("Short one", "short ONE.") == reference_jaccard("Short one", "short ONE.") == 1.0


def test_signature_estimates_track_exact_jaccard():
    rng = random.Random(1)
    pairs = []
    for _ in range(200):
        a = doc(rng, 150)
        rate = rng.choice([0.02, 0.1, 0.3, 0.6])
        b = [w if rng.random() > rate else rng.choice(VOCAB) for w in a]
        pairs.append((" ".join(a), " ".join(b)))
    texts = [t for p in pairs for t in p]
    v, d = mh.shingles_from_words(words(texts), 3)
    for sig in (mh.oph_signatures(v, d, len(texts), 64), mh.kperm_signatures(v, d, len(texts), 64)):
        est = mh.estimated_jaccard(sig[0::2], sig[1::2])
        exact = np.array([exact_jaccard(a, b) for a, b in pairs])
        assert np.abs(est - exact).mean() < 0.06
        assert np.corrcoef(est, exact)[0, 1] > 0.95


def test_lsh_finds_near_duplicates_and_not_unrelated_texts():
    rng = random.Random(2)
    base = [" ".join(doc(rng, 60)) for _ in range(300)]
    copies = []
    for t in base[:100]:  # one substituted word in sixty: Jaccard ~0.9
        w = t.split()
        w[rng.randrange(len(w))] = "changed"
        copies.append(" ".join(w))
    texts = base + copies
    v, d = mh.shingles_from_words(words(texts), 3)
    for sig in (mh.oph_signatures(v, d, len(texts), 64), mh.kperm_signatures(v, d, len(texts), 64)):
        pairs = mh.candidate_pairs(np.arange(len(texts)), mh.band_hashes(sig, 16))
        found = set(zip(pairs.get_column("a").to_list(), pairs.get_column("b").to_list()))
        planted = {(i, 300 + i) for i in range(100)}
        assert planted <= found
        assert len(found - planted) <= 3  # random 60-word texts share no 4-bucket band


def test_big_buckets_are_linked_to_their_smallest_row():
    sig = np.tile(np.arange(8, dtype=np.uint64), (120, 1))  # 120 identical signatures
    pairs = mh.candidate_pairs(np.arange(120), mh.band_hashes(sig, 2), max_bucket=50)
    assert pairs.height == 119 and set(pairs.get_column("a").to_list()) == {0}


def test_big_buckets_link_every_member_to_the_first_row_of_each_kind_on_each_side():
    """60 exact copies of a train prompt and 3 test rows in one bucket: linked to the smallest row
    only (a test row), the test rows never met a training copy; kinds and sides give each member the
    first row of every kind on every side (up to BIG_BUCKET_LINKS per side)."""
    sig = np.tile(np.arange(8, dtype=np.uint64), (63, 1))
    kinds = np.array([7, 8, 9] + [1] * 60, dtype=np.uint64)  # rows 0-2: test rows of three spellings
    sides = np.array([0, 0, 0] + [1] * 60)
    pairs = mh.candidate_pairs(np.arange(63), mh.band_hashes(sig, 2), max_bucket=50, kinds=kinds, sides=sides)
    found = set(zip(pairs.get_column("a").to_list(), pairs.get_column("b").to_list()))
    assert {(0, 3), (1, 3), (2, 3)} <= found  # every test row meets the first training copy
    assert {(0, 1), (0, 2), (1, 2)} <= found and (3, 4) in found
    assert len(found) == 3 + 3 + 59 * 4  # test-test, test to row 3, and the other 59 copies to the 4 representatives
    many = mh.candidate_pairs(np.arange(120), mh.band_hashes(np.tile(np.arange(8, dtype=np.uint64), (120, 1)), 2),
                              kinds=np.arange(120, dtype=np.uint64))
    assert set(many.get_column("a").to_list()) == set(range(mh.BIG_BUCKET_LINKS))  # linear: a few representatives


def test_short_texts_are_one_shingle_each():
    v, d = mh.shingles_from_words(words(["yes", "no thanks", "", "a b c d"]), 3)
    assert d.tolist() == [0, 1, 3, 3]
    sig = mh.oph_signatures(v, d, 4, 16)
    assert (sig[2] == mh.EMPTY).all()
    assert (mh.band_hashes(sig, 4)[2] == mh.EMPTY).all()  # an empty text never joins a bucket


def test_connected_components():
    labels = mh.connected_components(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert labels.tolist() == [0, 0, 0, 3, 4, 4]


def test_candidates_verified_in_chunks_give_the_same_findings(seeded_dataset, monkeypatch):
    from prefdata.check import check, similarity

    whole = check(seeded_dataset, write=False)
    monkeypatch.setattr(similarity, "CANDIDATE_CHUNK", 1)
    chunked = check(seeded_dataset, write=False)
    for check_id in ("near_duplicates", "prompt_leakage_near"):
        assert chunked.check(check_id).offending_ids == whole.check(check_id).offending_ids
        assert whole.check(check_id).offending_ids  # the seeded fixture plants both


def test_cjk_characters_are_words_so_near_copies_are_found():
    """Chinese, Japanese and Korean have no spaces: split on spaces alone, a paragraph is one "word"
    and a copy with one character changed shares no shingle with it."""
    zh = "今天天气很好，我们一起去公园散步，然后在湖边的咖啡馆喝茶聊天，晚上回家做饭。"
    ja = "東京の天気は晴れです。午後は友達と一緒に美術館へ行って、夜はラーメンを食べました。"
    ko = "오늘은 날씨가 좋아서 친구와 함께 공원에서 산책을 하고 저녁에는 집에서 요리를 했습니다."
    for text, changed in ((zh, zh.replace("散步", "跑步")), (ja, ja.replace("ラーメン", "うどん")), (ko, ko.replace("산책을", "운동을"))):
        assert exact_jaccard(text, changed) > 0.7  # 0 when a paragraph is one "word"
    assert exact_jaccard(zh, ja) < 0.05
    assert words(["GPT-4は便利です"]).list.len().item() == 6  # "gpt-4" stays one word, each kana and kanji is one


@pytest.mark.parametrize(
    ("text", "same"),
    [
        ("¡Es París, claro que sí!", "Es París, claro que sí"),
        ("¿Cuál es la capital de Francia?", "cuál es la capital de francia"),
        ("‹Bonjour› «à» «tous»", "bonjour à tous"),
        ("x» «y", "x y"),  # one space between a closing and an opening mark
        ("「東京」です。", "東京です"),  # CJK brackets were words of their own
        ("$¿qué (¡sí!)", "qué sí"),  # ASCII and Unicode punctuation mixed
        ("l’homme dit «non» — ¿vale?", "l'homme dit non vale"),  # inside a word it stays
    ],
)
def test_unicode_punctuation_around_words_is_dropped(text, same):
    """README: words "with punctuation around them dropped"; only ASCII's was, so "¿cuál" and "cuál"
    were two words and a benchmark prompt copied with its "¿" removed was no copy."""
    got, expected = words([text, same]).to_list()
    assert got == expected


def test_a_capital_sigma_hashes_alike_before_any_whitespace():
    """Lower-casing writes a capital sigma as the final ς before a space but σ before a zero-width space,
    so "ΟΔΟΣ ΚΑΙ" and "ΟΔΟΣ\u200bΚΑΙ" hashed the word ΟΔΟΣ two ways (the prompt key had the same slip)."""
    texts = ["ΟΔΟΣ ΚΑΙ", "ΟΔΟΣ\u200bΚΑΙ", "ΟΔΟΣ\u00a0ΚΑΙ", "οδος και"]
    hashes = pl.DataFrame({"t": texts}).select(mh.word_hash_expr(pl.col("t"))).to_series().to_list()
    assert all(h == hashes[0] for h in hashes) and len(hashes[0]) == 2


@pytest.mark.parametrize(("a", "b", "n"), [("hello world", "world hello", 3), ("fix bug", "bug fix", 3), ("a b c d", "b a c d", 5)])
def test_a_text_shorter_than_a_shingle_is_one_ordered_shingle(a, b, n):
    """minhash.shingles_from_words: a text of fewer than ``n`` words is one shingle of its words in
    order (reference_jaccard's ``tuple(w)``), so the same words reordered share none; case and
    punctuation still do not count."""
    assert reference_jaccard(a, b, n) == exact_jaccard(a, b, n) == 0.0
    assert exact_jaccard(a, a.upper() + "!", n) == 1.0


@pytest.mark.parametrize(("size", "max_bucket"), [(5, 5), (50, 50)])
def test_a_bucket_of_exactly_max_bucket_rows_gives_all_its_pairs(size, max_bucket):
    """minhash.candidate_pairs: "Buckets up to ``max_bucket`` rows give all their pairs"; one row more
    falls back to representatives."""
    every = {(a, b) for a in range(size) for b in range(a + 1, size)}
    for rows, expected in [(size, every), (size + 1, None)]:
        bands = np.full((rows, 1), np.uint64(12345), dtype=np.uint64)  # one band: every row in one bucket
        pairs = mh.candidate_pairs(np.arange(rows, dtype=np.int64), bands, max_bucket)
        found = set(zip(pairs.get_column("a").to_list(), pairs.get_column("b").to_list()))
        if expected is not None:
            assert found == expected
        else:
            assert len(found) == rows - 1  # each other row linked to row 0 only


def test_a_minus_sign_is_an_ascii_hyphen_minus():
    """minhash.TYPOGRAPHIC maps the dashes NFKC leaves alone to "-", U+2212 MINUS SIGN among them (a math
    symbol, category Sm, so otherwise kept in the word): "\u221240" and "-40" are one word, a copy stays a copy."""
    a = "the lowest temperature recorded there was \u221240 degrees in the winter"
    assert exact_jaccard(a, a.replace("\u2212", "-")) == 1.0
