"""Normalisation before matching: placeholders blanked, nickname groups, postcode parts."""

from __future__ import annotations

from datetime import date

import pytest

from reachable.identity.blocking import keys_for
from reachable.identity.features import features, is_valid_nhs_number
from reachable.identity.nicknames import NICKNAMES, forename_canonical


@pytest.mark.parametrize("given", ["Baby Boy", "BABY GIRL", "Twin 1", "twin two", "Unknown",
                                   "Not Known", "NK", "Baby", "xx", "Infant of"])
def test_placeholder_forenames_are_blanked(given: str) -> None:
    f = features({"given_name": given, "family_name": "Okafor"})
    assert f["forename"] is None and f["forename_canon"] is None
    assert f["surname"] == "okafor"


@pytest.mark.parametrize("family", ["Unknown", "NOT KNOWN", "nk", "ZZZ"])
def test_placeholder_surnames_are_blanked(family: str) -> None:
    assert features({"given_name": "Amira", "family_name": family})["surname"] is None


@pytest.mark.parametrize("dob", [date(1900, 1, 1), date(1850, 6, 3), date(2012, 1, 1),
                                 "2015-01-01", "1900-01-01"])
def test_placeholder_dates_are_blanked(dob: object) -> None:
    f = features({"given_name": "Amira", "date_of_birth": dob})
    assert f["dob"] is None and f["dob_swap"] is None


def test_real_dates_keep_their_swapped_form_when_day_and_month_can_swap() -> None:
    assert features({"date_of_birth": date(2012, 3, 7)})["dob_swap"] == "2012-07-03"
    assert features({"date_of_birth": date(2012, 3, 25)})["dob_swap"] is None
    assert features({"date_of_birth": date(2012, 4, 4)})["dob_swap"] is None


def test_names_lose_case_accents_apostrophes_and_split_double_barrels() -> None:
    f = features({"given_name": "Zoë-Ann", "family_name": "O'Brien-Smith"})
    assert f["forename"] == "zoe"
    assert f["surname"] == "obrien smith"
    assert (f["surname_a"], f["surname_b"]) == ("obrien", "smith")


def test_nicknames_share_a_canonical_name_and_groups_do_not_overlap() -> None:
    assert forename_canonical("bill") == forename_canonical("william") == "william"
    assert forename_canonical("jay") == forename_canonical("jayden") == "jayden"
    assert forename_canonical("liam") == "liam"  # not William: twins may be William and Liam
    assert all(canonical in NICKNAMES for canonical in NICKNAMES.values())


def test_postcode_parts_and_address_normalisation() -> None:
    f = features({"address": {"postcode": "n16 7ab", "line": "12, Acacia Road"}})
    assert (f["postcode"], f["postcode_sector"], f["postcode_district"]) == (
        "N16 7AB", "N16 7", "N16")
    assert f["address"] == "12 acacia rd"


def test_nhs_number_validity() -> None:
    assert is_valid_nhs_number("9434765919")
    assert not is_valid_nhs_number("9434765918")
    assert not is_valid_nhs_number("5304218")


def test_blocking_keys_survive_the_usual_errors() -> None:
    base = features({"given_name": "William", "family_name": "Smith-Jones",
                     "date_of_birth": date(2012, 3, 7), "address": {"postcode": "N16 7AB"}})
    nickname_and_changed_surname = features({"given_name": "Bill", "family_name": "Brown",
                                             "date_of_birth": date(2012, 3, 7)})
    swapped = features({"given_name": "Will", "family_name": "Jones",
                        "date_of_birth": date(2012, 7, 3)})
    assert set(keys_for(base)) & set(keys_for(nickname_and_changed_surname))
    assert set(keys_for(base)) & set(keys_for(swapped))


def test_a_mistyped_postcode_and_different_names_still_meet_at_the_same_address() -> None:
    """Surname changed, forename a nickname, postcode mistyped: only the date of birth and
    the address line agree, and the ``da`` key brings the two together."""
    stored = features({"given_name": "Joel", "family_name": "Lodge",
                       "date_of_birth": date(2011, 8, 30),
                       "address": {"postcode": "N16 7AB", "line": "200 Stamford Road"}})
    incoming = features({"given_name": "Joe", "family_name": "Hollis",
                         "date_of_birth": date(2011, 8, 30),
                         "address": {"postcode": "N1 7AB", "line": "200 Stamford Rd"}})
    shared = set(keys_for(stored)) & set(keys_for(incoming))
    assert shared == {"da:2011-08-30|200 stamford rd"}
