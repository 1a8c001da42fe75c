"""A JSON array is cut into its elements as it streams, wherever the blocks happen to end."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.io.json_array import ArraySplitter

# Strings full of what the scanner must not mistake for structure: quotes, backslash runs, brackets,
# commas, and multi-byte characters a block boundary can cut in half.
TRICKY = st.text(alphabet=st.sampled_from(list('ab"\\[]{},: \n\té€😀')), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=12,
)


def element_bytes(got) -> list[bytes]:
    return [got.invalid[i] if t is None else t.encode() for i, t in enumerate(got.texts.to_pylist())]


def split(data: bytes, block: int):
    splitter = ArraySplitter()
    raws: list[bytes] = []
    for i in range(0, len(data), block):
        got = splitter.feed(data[i : i + block])
        # each element's span in the file holds exactly its text, give or take whitespace
        assert [data[a:b].strip(b" \t\r\n") for a, b in zip(got.starts, got.ends)] == element_bytes(got)
        raws += element_bytes(got)
    return raws, splitter.finish(), splitter.count


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON, max_size=8), indent=st.sampled_from([None, 2]), ascii_only=st.booleans(), block=st.integers(1, 40))
def test_elements_round_trip_whatever_the_blocks(items, indent, ascii_only, block):
    data = json.dumps(items, indent=indent, ensure_ascii=ascii_only).encode()
    raws, tail, count = split(data, block)
    assert tail is None
    assert count == len(items)
    assert [json.loads(r) for r in raws] == items


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON, min_size=1, max_size=8), cut=st.floats(0, 1, exclude_max=True), block=st.integers(1, 40))
def test_a_truncated_array_keeps_its_complete_elements_and_one_tail(items, cut, block):
    data = json.dumps(items).encode()
    data = data[: max(1, int(len(data) * cut))]  # the closing ']' is always lost
    raws, tail, count = split(data, block)
    assert tail is not None and "breaks off" in tail.detail
    assert count == len(raws)
    # every element emitted is a complete, exact element of the original
    assert [json.loads(r) for r in raws] == items[: len(raws)]
    # nothing is lost: the elements, then the tail, make up the whole file
    prefix = b"[" + b", ".join(raws)
    assert data.startswith(prefix)
    assert data[len(prefix) :].lstrip(b", ").rstrip(b" ") == tail.raw


@pytest.mark.parametrize(
    ("data", "elements", "tail"),
    [
        (b"[]", [], None),
        (b"  \n[ ]\n", [], None),
        (b'[1, "a,b]", {"c": [2, 3]}]', [b"1", b'"a,b]"', b'{"c": [2, 3]}'], None),
        (b'["\\\\", "\\"]"]', [b'"\\\\"', b'"\\"]"'], None),
        (b"[1,]", [b"1", b""], None),  # a trailing comma: an empty element, rejected downstream
        (b"[1,2,", [b"1", b"2"], "element 3: the array breaks off"),
        (b"[1}", [], "element 1: '}' where ',' or ']' belongs"),
        (b"[1] x", [b"1"], "unexpected content after the closing ']'"),
        # JSON whitespace is space, tab, LF and CR only (RFC 8259 section 2; json.loads: "Extra data"):
        # a form feed or vertical tab after the ']' is content, not whitespace
        (b'[{"a": 1}]\x0c', [b'{"a": 1}'], "unexpected content after the closing ']'"),
        (b"[1]\n\x0b\n", [b"1"], "unexpected content after the closing ']'"),
        (b"[1]\r\n\t ", [b"1"], None),
        (b'{"a": 1}', [], "the file is not a JSON array"),
    ],
)
def test_edge_cases(data, elements, tail):
    for block in (1, 2, len(data)):
        raws, got_tail, _ = split(data, block)
        assert raws == elements
        assert (got_tail.detail if got_tail else None) == tail or got_tail.detail.startswith(tail)


@pytest.mark.parametrize("blocks", [[], [b""], [b"  \n\t"], [b" ", b"\r\n"]])
def test_a_file_of_only_whitespace_is_no_array_and_says_so(blocks):
    """finish() never returns None for input that held no '[': None means "a well-formed array, every
    element delivered". (discover skips blank files first; this pins the splitter on its own.)"""
    splitter = ArraySplitter()
    for block in blocks:
        assert len(splitter.feed(block)) == 0
    tail = splitter.finish()
    assert tail is not None
    assert tail.detail == "the file is not a JSON array (it holds only whitespace)"


def test_a_file_that_is_no_array_is_one_tail_from_its_first_non_blank_byte_whatever_the_blocks():
    """Not an array: one tail reject holding the rest of the file (module docstring), which starts at
    its first byte that is not JSON whitespace, wherever the blocks it is fed in end."""
    data = b'  \n\t{"a": 1}\n{"a": 2}\n'
    for block in (1, 2, 3, 4, len(data)):
        raws, tail, _ = split(data, block)
        assert raws == []
        assert (tail.detail, tail.raw) == ("the file is not a JSON array", b'{"a": 1}\n{"a": 2}\n')


@pytest.mark.parametrize(
    ("data", "elements", "rest"),
    [(b"[1, 2}", [b"1"], b"2}"), (b'[{"a": 1}, {"b": 2}}  ', [b'{"a": 1}'], b'{"b": 2}}  ')],
)
def test_a_brace_where_a_comma_belongs_keeps_the_element_it_ends_in_the_tail(data, elements, rest):
    """A '}' where ',' or ']' belongs: the elements before it are delivered and the tail reject holds
    the rest of the file from the element it broke, as a parser stops there (module docstring), so
    elements and tail make up the file."""
    for block in (1, 3, len(data)):
        raws, tail, _ = split(data, block)
        assert raws == elements
        assert tail.detail == f"element {len(elements) + 1}: '}}' where ',' or ']' belongs"
        assert tail.raw == rest
