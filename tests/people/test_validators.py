"""UK identifier and postcode checks, tested against independent statements of the rules
(NHS Data Dictionary modulus 11; DfE UPN check letter) rather than against the code's helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reachable.people.validators import (
    name_key,
    normalise_nhs_number,
    normalise_pnc_id,
    normalise_postcode,
    normalise_upn,
)

# --- NHS number ---------------------------------------------------------------------------


def _reference_check_digit(nine: str) -> int:
    """NHS Data Dictionary: weights 10..2, 11 - (sum mod 11); 11 -> 0; 10 -> no valid number."""
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11
    return (11 - remainder) % 11  # 10 stays 10 (invalid), 11 becomes 0


nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
valid_nhs = nine_digits.filter(lambda n: _reference_check_digit(n) != 10).map(
    lambda n: n + str(_reference_check_digit(n))
)


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "4010232137"])
def test_known_valid_nhs_numbers_are_accepted_and_normalised(number: str) -> None:
    assert normalise_nhs_number(number) == number.replace(" ", "").replace("-", "")


@given(valid_nhs)
def test_every_valid_nhs_number_passes(number: str) -> None:
    assert normalise_nhs_number(number) == number


@given(valid_nhs, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_fails(number: str, position: int, shift: int) -> None:
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1:]
    assert changed != number
    with pytest.raises(ValueError, match="check digit"):
        normalise_nhs_number(changed)


def _ninth_for_check_ten(eight: str) -> str | None:
    """The ninth digit (weight 2) that makes the check digit 10, if one exists."""
    partial = sum(int(d) * (10 - i) for i, d in enumerate(eight))
    # need (partial + 2 * d) % 11 == 1; 6 is the inverse of 2 modulo 11
    digit = (6 * (1 - partial)) % 11
    return eight + str(digit) if digit < 10 else None


check_ten = st.text(alphabet="0123456789", min_size=8, max_size=8).map(
    _ninth_for_check_ten).filter(lambda n: n is not None)


@given(check_ten, st.integers(0, 9))
def test_numbers_whose_check_digit_would_be_ten_are_never_valid(nine: str, last: int) -> None:
    assert _reference_check_digit(nine) == 10
    with pytest.raises(ValueError):
        normalise_nhs_number(nine + str(last))


@pytest.mark.parametrize("number", ["", "943476591", "94347659190", "94347659a9", "9434765918"])
def test_malformed_nhs_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValueError):
        normalise_nhs_number(number)


# --- UPN ----------------------------------------------------------------------------------

# DfE: characters 2-13 weighted 2..13, letters valued A=0 ... Z=22 without I, O, S; the sum
# mod 23 is the check letter in the same alphabet. Worked by hand:
#   "801200100001": 8*2 + 1*4 + 2*5 + 1*8 + 1*13 = 51; 51 mod 23 = 5 -> F
#   "80120010000A": 51 - 13 + 0 = 38; 38 mod 23 = 15 -> R
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def _reference_upn(body: str) -> str:
    total = sum(
        (int(c) if c.isdigit() else UPN_ALPHABET.index(c)) * w
        for w, c in zip(range(2, 14), body, strict=True)
    )
    return UPN_ALPHABET[total % 23] + body


@pytest.mark.parametrize(
    ("given_upn", "expected"),
    [
        ("F801200100001", "F801200100001"),
        ("f801200100001", "F801200100001"),
        ("F 8012 0010 0001", "F801200100001"),
        ("R80120010000A", "R80120010000A"),
    ],
)
def test_valid_upns(given_upn: str, expected: str) -> None:
    assert normalise_upn(given_upn) == expected


@pytest.mark.parametrize(
    "upn",
    [
        "A801200100001",  # wrong check letter
        "G801200100001",
        "F80120010000",  # too short
        "F8012001000011",  # too long
        "180120010000A1",
        "F80120010000I",  # I is never used
        "F80120010000O",
        "F80120010000S",
        "",
    ],
)
def test_invalid_upns(upn: str) -> None:
    with pytest.raises(ValueError):
        normalise_upn(upn)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(1, 11),
       st.integers(1, 9))
def test_upn_single_digit_change_fails(body: str, position: int, shift: int) -> None:
    upn = _reference_upn(body)
    assert normalise_upn(upn) == upn
    changed = upn[:position] + str((int(upn[position]) + shift) % 10) + upn[position + 1:]
    with pytest.raises(ValueError):
        normalise_upn(changed)


# --- Postcodes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_code", "expected"),
    [
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("GIR 0AA", "GIR 0AA"),
        ("gir0aa", "GIR 0AA"),
        ("M1 1AE", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("n16 7ab", "N16 7AB"),
    ],
)
def test_valid_postcodes(given_code: str, expected: str) -> None:
    assert normalise_postcode(given_code) == expected


@pytest.mark.parametrize(
    "code",
    ["", "XX1 1XX", "QA1 1AA", "SW1A 1A", "SW1A", "12345", "SW1A 1CA", "SW1A 1AAA",
     "SW1A-1AA", "AAA1 1AA", "1AA 1AA"],
)
def test_invalid_postcodes(code: str) -> None:
    with pytest.raises(ValueError, match="postcode"):
        normalise_postcode(code)


# --- PNC id -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_id", "expected"),
    [("11/123456A", "11/123456A"), ("11/123456a", "11/123456A"),
     ("2011/1234567Z", "2011/1234567Z"), (" 98/1X ", "98/1X")],
)
def test_valid_pnc_ids(given_id: str, expected: str) -> None:
    assert normalise_pnc_id(given_id) == expected


@pytest.mark.parametrize(
    "pnc", ["", "11-123456A", "1/123A", "11/123456", "11/12345678A", "11/123456AB", "AB/1234A"]
)
def test_invalid_pnc_ids(pnc: str) -> None:
    with pytest.raises(ValueError):
        normalise_pnc_id(pnc)


# --- name_key -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Zoë",), "zoe"),
        (("ZOË",), "zoe"),
        (("zoe",), "zoe"),
        (("José", "Núñez"), "jose nunez"),
        (("Mary-Jane", "Smith"), "mary jane smith"),
        (("Mary", "Smith-Jones"), "mary smith jones"),
        (("  Tomasz ", " NOWAK  "), "tomasz nowak"),
        (("O'Brien",), "o brien"),
        (("", "Nowak"), "nowak"),
        (("Straße",), "strasse"),
    ],
)
def test_name_key(parts: tuple[str, ...], expected: str) -> None:
    assert name_key(*parts) == expected


def test_name_key_equates_spellings_that_differ_only_in_case_accents_and_hyphens() -> None:
    assert name_key("Zoë", "Smith-Jones") == name_key("ZOE", "smith jones")
    assert name_key("Zoë") != name_key("Zara")
