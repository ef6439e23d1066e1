"""Blocking keys: which profiles an incoming record is compared with.

A key is a short string such as ``fd:william|2012-03-04`` (forename group + date of birth).
Every profile's keys are stored (``BlockingKey``, indexed), so the online path finds its
candidates with one indexed look-up, and the batch linker joins on the same keys in DuckDB:
both paths compare exactly the same pairs. Each key survives a different kind of error:

- ``fd`` forename group + date of birth: a changed or misspelt surname;
- ``sd`` either surname part + date of birth: a nickname or misspelt forename, a dropped
  half of a double-barrelled surname;
- ``fs`` forename group + either surname part: a date of birth typed wrong or swapped;
- ``pd`` postcode + date of birth: both names different (a false name given to police);
- ``fp`` forename group + postcode: surname changed and date of birth wrong or missing;
- ``sw`` either surname part + the date with day and month swapped.
- ``ap`` the address line + postcode district (the postcode itself where it is not a UK one):
  names and date of birth all mistyped or false, but the same home;
- ``da`` the date of birth + the address line: names changed or misspelt and the postcode
  mistyped (the ``ap`` key's area with it);
- ``s3`` the first three letters of either surname part + postcode: forename and date of
  birth both wrong, even with the surname misspelt after its start;
- ``fsy`` the first three letters of forename and of either surname part + year of birth:
  typos late in both names and a mistyped day or month.

The short prefixes keep blocks small (a household, or a name start within one birth year)
while surviving the typos that the exact keys do not.
"""

from __future__ import annotations

from reachable.identity.features import Record


def keys_for(f: Record) -> list[str]:
    forename, dob, postcode = f.get("forename_canon"), f.get("dob"), f.get("postcode")
    swapped = f.get("dob_swap")
    surnames = sorted({s for s in (f.get("surname_a"), f.get("surname_b")) if s})
    keys: set[str] = set()
    if forename and dob:
        keys.add(f"fd:{forename}|{dob}")
    for surname in surnames:
        if dob:
            keys.add(f"sd:{surname}|{dob}")
        if forename:  # in either order: forename and surname are sometimes swapped
            keys.add("fs:" + "|".join(sorted((forename, surname))))
        if postcode:  # (this block holds every pair the exact surname + postcode would)
            keys.add(f"s3:{surname[:3]}|{postcode}")
        if swapped:
            keys.add(f"sw:{surname}|{swapped}")
        if forename and dob:
            keys.add("fsy:" + "|".join(sorted((forename[:3], surname[:3]))) + f"|{dob[:4]}")
    if forename and postcode:
        keys.add(f"fp:{forename}|{postcode}")
    address, area = f.get("address"), f.get("postcode_district") or postcode
    if address and area:
        keys.add(f"ap:{area}|{address}")
    if postcode and dob:
        keys.add(f"pd:{postcode}|{dob}")
    if address and dob:
        keys.add(f"da:{dob}|{address}")
    return sorted(key[:220] for key in keys)
