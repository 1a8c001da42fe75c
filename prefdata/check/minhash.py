"""Vectorized shingling, one-permutation MinHash and LSH banding for millions of texts.

A Python loop of ``datasketch.MinHash`` objects needs minutes per million documents; here every step
is a column operation. polars splits and hashes the words (xxh3, stable across runs and machines),
numpy combines consecutive word hashes into word n-gram shingles and takes, for every document, the
minimum shingle hash in each of ``K`` buckets (one-permutation MinHash, Li et al. 2012) with one
``np.minimum.at`` — or, for short texts such as prompts, ``K`` classic 32-bit MinHash values. Bands of the signature are hashed to one integer each, and documents sharing a
band hash become candidate pairs, verified afterwards with the exact Jaccard of their shingle sets
(:func:`shingle_sets`), so LSH only has to be good at recall.

Text normalization: lowercase, whitespace of any kind splits words, punctuation around words is
dropped ("Hello," and "hello" are one word; in a text holding non-ASCII, Unicode's punctuation too,
so "¿cuál" is "cuál": one regex pass over the text for a word's start and one for its end). Texts holding a non-ASCII character are first brought
to NFKC with typographic quotes and dashes made ASCII (:data:`TYPOGRAPHIC`), so a curly apostrophe,
a no-break space or a BOM does not make a copied text look new; ASCII texts (byte length = character
length) skip that step and its cost. Chinese, Japanese and Korean are written without spaces, so
there each Han, kana or Hangul character counts as a word (:data:`CJK_CHARACTER`): shingles of three
words are then character trigrams, and a copied paragraph with one character changed is still found.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import polars_hash  # noqa: F401  (registers the ``nchash`` namespace)

from prefdata.text_keys import ASCII_WHITESPACE, FINAL_SIGMA, SIGMA, UNICODE_WHITESPACE

#: ASCII whitespace other than the space, turned into spaces before the text is split on them.
_SPLITTERS = [ws for ws in ASCII_WHITESPACE if ws != " "]

#: Sentinel of an empty bucket (a text with fewer shingles than buckets leaves some empty).
EMPTY = np.uint64(np.iinfo(np.uint64).max)
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
#: A run of punctuation in a text holding non-ASCII: Unicode's (category P: ``¿ ¡ « » ‹ › 「 」 。``) and ASCII's.
_ANY_PUNCT = "[\\p{P}" + "".join(f"\\{c}" if c in "\\[]^-" else c for c in _PUNCT) + "]+"
#: Typographic characters NFKC leaves alone, and their ASCII twins.
TYPOGRAPHIC = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"), **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"), "\u3002": ".", "\u3001": ",",
}
#: A character of a script written without spaces between words: each is split off as a word.
CJK_CHARACTER = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}])"
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)


def _position_multiplier(k: int) -> np.uint64:
    """The odd multiplier of the word at position ``k`` (1-based after the first) of an n-gram: one of
    its own per position, so that swapping two words changes the hash (with two multipliers shared by
    alternate positions, "dogs and cats" and "cats and dogs" hashed alike in 8-grams)."""
    if k <= 2:
        return (_M2, _M3)[k - 1]
    x = (k * 0x9E3779B97F4A7C15 + 0xBF58476D1CE4E5B9) % 2**64  # splitmix64 of k
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return np.uint64((x ^ (x >> 31)) | 1)


def _mix(x: np.ndarray) -> np.ndarray:
    """A cheap 64-bit finalizer (xorshift-multiply-xorshift): every output bit depends on every input
    bit, so the bucket (low bits) and the value compared within it are independent."""
    x = x ^ (x >> np.uint64(32))
    x = x * np.uint64(0xD6E8FEB86659FD93)
    return x ^ (x >> np.uint64(32))


def word_hash_expr(text: pl.Expr, seed: int = 0) -> pl.Expr:
    """``list[u64]``: the xxh3 hash of each normalized word of a text, in order (inside a lazy query,
    so polars spreads the work over every core)."""
    text = text.fill_null("").str.to_lowercase()
    unicode = pl.when(text.str.len_bytes() != text.str.len_chars()).then(text).str.normalize("NFKC").str.to_lowercase()
    # the final sigma read as sigma: lower-casing writes a capital one as either, by what follows it
    unicode = unicode.str.replace_many(
        [*TYPOGRAPHIC, *UNICODE_WHITESPACE, FINAL_SIGMA], [*TYPOGRAPHIC.values(), *[" "] * len(UNICODE_WHITESPACE), SIGMA]
    ).str.replace_all(CJK_CHARACTER, " ${1} ")
    # punctuation around words dropped on the whole text, before the split: at a word's start, then at its end
    unicode = unicode.str.replace_all(rf"(^|\s){_ANY_PUNCT}", "${1}").str.replace_all(rf"{_ANY_PUNCT}(\s|$)", "${1}")
    return (
        pl.coalesce(unicode, text)
        .str.replace_many(_SPLITTERS, [" "] * len(_SPLITTERS))
        .str.split(" ")
        .list.eval(pl.element().str.strip_chars(_PUNCT))
        .list.eval(pl.element().filter(pl.element() != "").nchash.xxh3_64(seed=seed))
    )


def shingles_from_words(words: pl.Series, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(shingle hashes, document index) of word n-grams from a ``list[u64]`` Series of word hashes.

    Shingles come out grouped by document in document order. A text shorter than n words (but not
    empty) is one shingle: the ordered combination of its words.
    """
    n_docs = len(words)
    counts = words.list.len().fill_null(0).to_numpy().astype(np.int64)
    h = words.explode().drop_nulls().to_numpy().astype(np.uint64, copy=False)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), counts)
    if n == 1 or len(h) == 0:
        return _mix(h), doc
    m = len(h) - n + 1
    values = np.empty(0, np.uint64)
    docs = np.empty(0, np.int64)
    if m > 0:
        s = h[:m] * _M1
        for k in range(1, n):
            s = s ^ (h[k : k + m] * _position_multiplier(k) + np.uint64(k))
        valid = doc[:m] == doc[n - 1 :]
        values, docs = s[valid], doc[:m][valid]
    short = (counts > 0) & (counts < n)
    if short.any():
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        in_short = short[doc]
        pos = (np.arange(len(h)) - starts[doc]).astype(np.uint64)
        weighted = (h * (_M1 + pos * np.uint64(2)))[in_short]
        sdoc = doc[in_short]
        bounds = np.flatnonzero(np.r_[True, sdoc[1:] != sdoc[:-1]])
        values = np.concatenate([values, np.add.reduceat(weighted, bounds)])
        docs = np.concatenate([docs, sdoc[bounds]])
        order = np.argsort(docs, kind="stable")
        values, docs = values[order], docs[order]
    return _mix(values), docs


def oph_signatures(values: np.ndarray, doc: np.ndarray, n_docs: int, num_perm: int) -> np.ndarray:
    """One-permutation MinHash: per document, the minimum shingle hash in each of ``num_perm`` buckets.

    One pass over the shingles, so it is the one used for long texts (responses, whole pairs). Short
    texts leave most buckets empty, which makes bands nearly as weak as single buckets; they get
    :func:`kperm_signatures` instead. The signature of a union of texts is the elementwise minimum
    of their signatures, which is how a whole pair's signature is built from its three fields.
    """
    sig = np.full(n_docs * num_perm, EMPTY, dtype=np.uint64)
    bucket = (values % np.uint64(num_perm)).astype(np.int64)
    np.minimum.at(sig, doc * num_perm + bucket, values)
    return sig.reshape(n_docs, num_perm)


def kperm_signatures(values: np.ndarray, doc: np.ndarray, n_docs: int, num_perm: int, seed: int = 0) -> np.ndarray:
    """Classic MinHash with ``num_perm`` hash functions (32-bit multiply-add), for short texts.

    ``num_perm`` passes over the shingles instead of one, but every value is a minimum over all of a
    text's shingles, so two texts that merely share a frequent n-gram rarely agree on a whole band.
    Documents without shingles get EMPTY everywhere.
    """
    # shingles_from_words returns shingles grouped by document, in order: ``doc`` is sorted
    x = (values >> np.uint64(32)).astype(np.uint32)
    present = np.flatnonzero(np.bincount(doc, minlength=n_docs))
    starts = np.searchsorted(doc, present)
    rng = np.random.default_rng(seed)
    mult = rng.integers(1, 2**32, num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    add = rng.integers(0, 2**32, num_perm, dtype=np.uint64).astype(np.uint32)
    sig = np.full((n_docs, num_perm), EMPTY, dtype=np.uint64)
    if len(x) == 0:
        return sig
    tmp = np.empty_like(x)
    for k in range(num_perm):
        np.multiply(x, mult[k], out=tmp)
        np.add(tmp, add[k], out=tmp)
        sig[present, k] = np.minimum.reduceat(tmp, starts)
    return sig


def band_hashes(sig: np.ndarray, bands: int) -> np.ndarray:
    """Hash each band (``num_perm / bands`` consecutive values) to one uint64; all-empty bands are EMPTY."""
    n, k = sig.shape
    r = k // bands
    blocks = sig.reshape(n, bands, r)
    weights = _mix(np.arange(1, r + 1, dtype=np.uint64))
    combined = np.bitwise_xor.reduce(_mix(blocks ^ weights), axis=2)
    out = _mix(combined + np.arange(bands, dtype=np.uint64))
    out[(blocks == EMPTY).all(axis=2)] = EMPTY
    return out


def bucket_agreement(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise (equal buckets, used buckets) of two signature matrices; a bucket empty on both sides
    is not used. ``equal / used`` estimates the Jaccard similarity of the two shingle sets, with an
    error that shrinks as ``used`` grows (the near-identical check widens its cut by it)."""
    both_empty = (a == EMPTY) & (b == EMPTY)
    return ((a == b) & ~both_empty).sum(axis=1), (~both_empty).sum(axis=1)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard estimate of two signature matrices; 1.0 where both texts have no shingles."""
    equal, used = bucket_agreement(a, b)
    return np.where(used > 0, equal / np.maximum(used, 1), 1.0)


#: Representatives a member of a big bucket is linked to, per side (see :func:`candidate_pairs`).
BIG_BUCKET_LINKS = 4


def candidate_pairs(
    rows: np.ndarray,
    bands: np.ndarray,
    max_bucket: int = 50,
    *,
    kinds: np.ndarray | None = None,
    sides: np.ndarray | None = None,
    order: Sequence[np.ndarray] = (),
) -> pl.DataFrame:
    """Pairs of rows (``a`` < ``b``) that share at least one band hash.

    Each band is sorted on its own (numpy, a few MB at a time) to find the hashes that occur more
    than once; only those rows go on. Buckets up to ``max_bucket`` rows give all their pairs. A
    larger bucket (many near-copies of one text) would give quadratically many, so each member is
    linked to a few representatives only: on each side (``sides``, e.g. training or not) the first
    rows of its first :data:`BIG_BUCKET_LINKS` kinds (``kinds``, e.g. the exact text's hash), in row
    order. Linking to the smallest row alone lost what the caller wants: 60 exact copies of a train
    prompt in one bucket with 3 test rows linked the test rows to each other only, and near copies of
    a pair linked to an exact copy, which the caller drops, instead of to each other.

    Representatives alone link a big bucket to its first few kinds only: 60 pairs of one long shared
    answer under 3 prompts were one bucket, and the clusters of the prompts after the first were never
    compared. For each key of ``order`` (per row, or per row and band: something near copies share
    more often than the bucket does, such as the exact prompt or the band hashes of each field
    together), each member is also linked to the next :data:`BIG_BUCKET_LINKS` members in the bucket
    sorted by that key, so rows alike sit side by side, whatever their number. Two keys, because
    neither is enough: a short prompt's band hashes are mostly empty and tell prompts apart poorly,
    and an exact prompt parts near copies written with other punctuation.
    """
    rows = rows.astype(np.int64, copy=False)
    kinds = np.zeros(len(rows), np.uint64) if kinds is None else kinds.astype(np.uint64, copy=False)
    sides = np.zeros(len(rows), np.int8) if sides is None else sides.astype(np.int8, copy=False)
    keys = [np.broadcast_to(k.reshape(len(rows), -1), (len(rows), bands.shape[1])) for k in order]  # views: no copy
    shared = []
    for j in range(bands.shape[1]):
        h = bands[:, j]
        keep = h != EMPTY
        hv, rv = h[keep], rows[keep]
        by_hash = np.argsort(hv, kind="stable")
        hs = hv[by_hash]
        same_next = hs[1:] == hs[:-1]
        dup = np.zeros(len(hs), dtype=bool)
        dup[1:] |= same_next
        dup[:-1] |= same_next
        if dup.any():
            at = np.flatnonzero(keep)[by_hash][dup]
            shared.append(pl.DataFrame({"band": np.full(int(dup.sum()), j, np.int32), "h": hs[dup], "row": rv[by_hash][dup],
                                        "kind": kinds[at], "side": sides[at], **{f"key{i}": k[at, j].astype(np.uint32) for i, k in enumerate(keys)}}))
    if not shared:
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    frame = pl.concat(shared).with_columns(size=pl.len().over("band", "h"))
    small = frame.filter(pl.col("size") <= max_bucket).select("band", "h", "row")
    pairs_small = (
        small.join(small, on=["band", "h"], suffix="_b")
        .filter(pl.col("row") < pl.col("row_b"))
        .select(a=pl.col("row"), b=pl.col("row_b"))
    )
    big = frame.filter(pl.col("size") > max_bucket).select("band", "h", "row", "kind", "side")
    reps = (
        big.group_by("band", "h", "side", "kind").agg(pl.col("row").min())
        .sort("row")
        .filter(pl.int_range(pl.len()).over("band", "h", "side") < BIG_BUCKET_LINKS)
        .select("band", "h", rep="row")
    )
    pairs_big = (
        big.join(reps, on=["band", "h"])
        .filter(pl.col("row") != pl.col("rep"))
        .select(a=pl.min_horizontal("row", "rep"), b=pl.max_horizontal("row", "rep"))
    )
    found = [pairs_small, pairs_big]
    members = frame.filter(pl.col("size") > max_bucket)
    for i in range(len(keys)):
        chained = members.select("band", "h", f"key{i}", "row").sort("band", "h", f"key{i}", "row")
        found += [
            chained.select(a=pl.col("row"), b=pl.col("row").shift(-d).over("band", "h")).drop_nulls()
            .select(a=pl.min_horizontal("a", "b"), b=pl.max_horizontal("a", "b"))
            for d in range(1, BIG_BUCKET_LINKS + 1)
        ]
    return pl.concat(found).unique().sort("a", "b")


def shingle_sets(words: pl.Series, n: int = 3) -> pl.Series:
    """Each text's set of shingle hashes as a ``list[u64]`` (for exact Jaccard of candidates)."""
    values, doc = shingles_from_words(words, n)
    texts = words
    frame = pl.DataFrame({"doc": doc, "s": values}).unique()
    grouped = frame.group_by("doc").agg("s")
    full = pl.DataFrame({"doc": np.arange(len(texts), dtype=np.int64)}).join(grouped, on="doc", how="left")
    return full.sort("doc").get_column("s").fill_null(pl.lit([], dtype=pl.List(pl.UInt64)))


def jaccard_expr(a: str, b: str, both_empty: pl.Expr | float = 0.0) -> pl.Expr:
    """Exact Jaccard of two ``list[u64]`` set columns; ``both_empty`` where neither has a shingle.

    Texts with no words (``"=="`` and ``"="``, ``":)"`` and ``":("``) share no shingle, so they are
    not near copies (0.0); a caller that knows the texts are equal passes that (``==`` of their hashes).
    """
    inter = pl.col(a).list.set_intersection(pl.col(b)).list.len()
    union = pl.col(a).list.set_union(pl.col(b)).list.len()
    empty = both_empty.cast(pl.Float64) if isinstance(both_empty, pl.Expr) else pl.lit(float(both_empty))
    return pl.when(union == 0).then(empty).otherwise(inter / union)


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member) of each of ``n`` nodes, by vectorized label propagation."""
    labels = np.arange(n, dtype=np.int64)
    if len(a) == 0:
        return labels
    while True:
        m = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]  # pointer jumping
        if np.array_equal(new, labels):
            return labels
        labels = new
