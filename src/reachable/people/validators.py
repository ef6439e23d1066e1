"""UK identifier and postcode checks: NHS number (modulus 11), UPN (check letter), postcode.

Each ``normalise_*`` returns the canonical form or raises ``ValueError`` with a message a
practitioner or an agency's developer can act on.
"""

from __future__ import annotations

import re
import unicodedata

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters: I, O and S are never used
_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_PNC = re.compile(r"^\d{2,4}/\d{1,7}[A-Z]$")


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid number exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("An NHS number has 10 digits.")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise ValueError("This is not a valid NHS number: the check digit does not match.")
    return digits


def upn_check_letter(last_twelve: str) -> str:
    total = 0
    for weight, char in zip(range(2, 14), last_twelve, strict=True):
        value = int(char) if char.isdigit() else _UPN_LETTERS.index(char)
        total += weight * value
    return _UPN_LETTERS[total % 23]


def normalise_upn(value: str) -> str:
    upn = re.sub(r"\s", "", value or "").upper()
    if not re.fullmatch(r"[A-Z]\d{11}[0-9A-Z]", upn) or (
        not upn[12].isdigit() and upn[12] not in _UPN_LETTERS
    ):
        raise ValueError("A UPN is a check letter, 11 digits and a final digit or letter.")
    if upn_check_letter(upn[1:]) != upn[0]:
        raise ValueError("This is not a valid UPN: the check letter does not match.")
    return upn


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s", "", value or "").upper()
    if not _POSTCODE.match(compact):
        raise ValueError("Enter a real UK postcode, like SW1A 1AA.")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_pnc_id(value: str) -> str:
    pnc = re.sub(r"\s", "", value or "").upper()
    if not _PNC.match(pnc):
        raise ValueError("A PNC id looks like 11/123456A.")
    return pnc


# Letters that Unicode does not decompose into a base letter plus accent ("Ł" is not "L" + mark).
_UNDECOMPOSED = str.maketrans({
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
    "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "\u0131": "i",  # dotless i
})


def name_key(*parts: str) -> str:
    """Case- and accent-free form of a name for exact matching and search ("Zoë" = "zoe",
    "Łukasz" = "lukasz"): agencies type names on keyboards with and without the accents."""
    text = " ".join(p for p in parts if p).translate(_UNDECOMPOSED)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = re.sub(r"[^\w\s]", " ", stripped.casefold().replace("-", " "))
    return " ".join(cleaned.split())
