"""What the linkage model compares: an agency's description of a person, normalised.

One function, ``features``, turns a subject (intake's validated dict, a batch row, a
synthetic record or a FEBRL row) into a flat record of strings. The online scorer, the batch
linker, training and the benchmarks all use it, so a name is cleaned the same way whichever
door it came through.

Placeholders are blanked rather than compared: "Baby Boy", "Twin 1" or "Unknown" says nothing
about who a child is, and two newborns both called "Baby Smith" must not agree on a forename.
The same goes for dates agencies use when they do not know one (1900-01-01, 1 January of a
year): a real 1 January birthday is lost too, which costs a little recall and no precision.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from reachable.identity.nicknames import forename_canonical
from reachable.people.validators import nhs_check_digit, normalise_postcode

Record = dict[str, Any]

#: Columns of a feature record, in the order the Splink input tables carry them.
FEATURE_COLUMNS = (
    "forename", "forename_canon", "surname", "surname_a", "surname_b", "dob", "dob_swap",
    "sex", "postcode", "postcode_sector", "postcode_district", "address", "nhs_number",
)
#: Columns with term-frequency adjustments (their ``tf_`` values come from the model).
TF_COLUMNS = ("forename", "surname", "postcode")

_PLACEHOLDER_FORENAME = re.compile(
    r"^(?:(?:baby|infant|twin|triplet|child|newborn|unborn)(?: (?:boy|girl|of|one|two|three"
    r"|[0-9]|[abc]|male|female))*|boy|girl|male|female|unknown|not known|not stated|nk|unk"
    r"|unnamed|no name|none|x+|z+|test)$"
)
_PLACEHOLDER_SURNAME = re.compile(r"^(?:unknown|not known|not stated|nk|unk|none|x+|z+|test)$")
_STREET_WORDS = {
    "street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "close": "cl", "drive": "dr",
    "court": "ct", "crescent": "cres", "place": "pl", "gardens": "gdns", "terrace": "ter",
    "square": "sq", "grove": "gr", "park": "pk", "flat": "flat", "apartment": "flat",
}
_UNDECOMPOSED = str.maketrans({
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Æ": "AE", "æ": "ae",
    "Œ": "OE", "œ": "oe", "ß": "ss", "\u0131": "i",
})


@lru_cache(maxsize=1 << 16)
def _plain(text: str) -> str:
    """Lower case, no accents, apostrophes dropped (O'Brien = OBrien), other punctuation
    and hyphens as spaces, single-spaced.

    Remembered: the same names and street lines come again and again (every event about a
    child repeats them), and this was a tenth of resolving a subject."""
    text = text.translate(_UNDECOMPOSED)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub("['\u2019`]", "", text)  # straight and curly apostrophes
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def clean_forename(given: str | None) -> str | None:
    text = _plain(given or "")
    if not text or _PLACEHOLDER_FORENAME.match(text):
        return None
    token = text.split()[0]
    return token if not _PLACEHOLDER_FORENAME.match(token) else None


def clean_surname(family: str | None) -> str | None:
    text = _plain(family or "")
    if not text or _PLACEHOLDER_SURNAME.match(text):
        return None
    return text


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return date.fromisoformat(text[:10])


def is_placeholder_date(day: date) -> bool:
    return day.year <= 1900 or (day.month == 1 and day.day == 1)


def clean_dob(value: Any) -> tuple[str | None, str | None]:
    """(ISO date, the same date with day and month swapped) or Nones.

    A string that is not a real date (FEBRL's corrupted ``19561131``) is kept as its digits
    in ISO shape, so that a one-character typo still compares as one; the batch linker
    refuses such rows before they get here.
    """
    if value is None or value == "":
        return None, None
    try:
        day = _as_date(value)
    except ValueError:
        digits = re.sub(r"\D", "", str(value))
        if len(digits) != 8:
            return None, None
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}", None
    if day is None or is_placeholder_date(day):
        return None, None
    swapped = (f"{day.year:04d}-{day.day:02d}-{day.month:02d}"
               if day.day <= 12 and day.day != day.month else None)
    return day.isoformat(), swapped


@lru_cache(maxsize=1 << 16)
def clean_postcode(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(postcode, sector, district) for a UK postcode; anything else is kept as itself
    with no sector or district (FEBRL's Australian postcodes). Remembered, as ``_plain``."""
    text = (value or "").strip()
    if not text:
        return None, None, None
    try:
        postcode = normalise_postcode(text)
    except ValueError:
        plain = _plain(text).replace(" ", "").upper()
        return (plain or None), None, None
    outward, inward = postcode.split(" ")
    return postcode, f"{outward} {inward[0]}", outward


def clean_address(line: str | None) -> str | None:
    words = [_STREET_WORDS.get(w, w) for w in _plain(line or "").split()]
    return " ".join(words) or None


def clean_identifier(value: str | None) -> str | None:
    text = re.sub(r"[\s-]", "", str(value or ""))
    return text or None


def is_valid_nhs_number(value: str | None) -> bool:
    if not value or not re.fullmatch(r"\d{10}", value):
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def features(subject: Record) -> Record:
    """The feature record for a subject dict (intake's keys: ``given_name``,
    ``family_name``, ``date_of_birth``, ``sex``, ``nhs_number``, ``address`` or
    ``postcode``/``address_line``)."""
    forename = clean_forename(subject.get("given_name"))
    surname = clean_surname(subject.get("family_name"))
    tokens = surname.split() if surname else []
    # ``date_of_birth_text``: a date as typed that is not a real date (FEBRL's corrupted
    # ones); intake and the batch linker only ever pass real dates.
    dob, dob_swap = clean_dob(subject.get("date_of_birth_text") or subject.get("date_of_birth"))
    address = subject.get("address") or {}
    if not isinstance(address, dict):
        address = {"line": str(address)}
    postcode, sector, district = clean_postcode(
        address.get("postcode") or subject.get("postcode"))
    sex = subject.get("sex")
    return {
        "forename": forename,
        "forename_canon": forename_canonical(forename),
        "surname": surname,
        "surname_a": tokens[0] if tokens else None,
        "surname_b": tokens[-1] if tokens else None,
        "dob": dob,
        "dob_swap": dob_swap,
        "sex": sex if sex in ("M", "F") else None,
        "postcode": postcode,
        "postcode_sector": sector,
        "postcode_district": district,
        "address": clean_address(address.get("line") or subject.get("address_line")),
        "nhs_number": clean_identifier(subject.get("nhs_number")),
    }
