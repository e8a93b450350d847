"""Coupon codes: random, readable, self-checking, forgiving to type."""

from __future__ import annotations

import math

import pytest

from loyalty.coupons.codes import (
    ALPHABET,
    CODE_LENGTH,
    ENTROPY_BITS,
    MalformedCode,
    check_symbol,
    display_code,
    is_valid_code,
    new_code,
    new_codes,
    normalise_code,
)


def test_codes_have_at_least_50_random_bits_in_a_readable_alphabet():
    assert ENTROPY_BITS >= 50
    assert (CODE_LENGTH - 1) * math.log2(len(ALPHABET)) == ENTROPY_BITS
    assert not set("ILOU") & set(ALPHABET)
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
        assert normalise_code(code) == code


def test_codes_use_the_whole_alphabet():
    # A generator stuck on part of the alphabet would have far fewer bits than it claims.
    seen = set("".join(new_code()[:-1] for _ in range(500)))
    assert seen == set(ALPHABET)


def test_codes_made_in_bulk_are_the_same_kind_of_code():
    codes = new_codes(5000)
    assert len(set(codes)) == 5000 and new_codes(0) == []
    assert all(normalise_code(code) == code for code in codes)
    # Each of the 11 random positions uses the whole alphabet about evenly (5000/32 = 156).
    for position in range(CODE_LENGTH - 1):
        counts = [sum(1 for c in codes if c[position] == s) for s in ALPHABET]
        assert min(counts) > 90 and max(counts) < 230


def test_display_groups_by_four_and_normalise_undoes_it():
    code = new_code()
    shown = display_code(code)
    assert shown.count("-") == 2 and all(len(g) == 4 for g in shown.split("-"))
    assert normalise_code(shown) == code
    assert normalise_code(f"  {shown.lower()} ") == code
    assert normalise_code(" ".join(code[i:i + 3] for i in range(0, len(code), 3))) == code


def test_look_alikes_read_as_digits():
    body = "0011" + "ABCDEFG"
    code = body + check_symbol(body)
    assert normalise_code("oOiL" + code[4:]) == code


@pytest.mark.parametrize("seed", range(5))
def test_every_single_mistyped_symbol_is_caught(seed):
    code = new_code()
    for i in range(CODE_LENGTH):
        for ch in ALPHABET:
            if ch != code[i]:
                assert not is_valid_code(code[:i] + ch + code[i + 1:])


def test_swapped_neighbours_are_caught_except_zero_and_z():
    missed = set()
    for _ in range(200):
        code = new_code()
        for i in range(CODE_LENGTH - 1):
            a, b = code[i], code[i + 1]
            if a != b and is_valid_code(code[:i] + b + a + code[i + 2:]):
                missed.add(frozenset((a, b)))
    assert missed <= {frozenset("0Z")}


@pytest.mark.parametrize(
    "text", ["", "ABC", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKU0", "4111111111111111"]
)
def test_malformed_codes_are_refused(text):
    with pytest.raises(MalformedCode):
        normalise_code(text)
