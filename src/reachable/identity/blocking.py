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
- ``sp`` either surname part + postcode: forename and date of birth both wrong;
- ``fp`` forename group + postcode: surname changed and date of birth wrong or missing;
- ``sw`` either surname part + the date with day and month swapped.
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
        if postcode:
            keys.add(f"sp:{surname}|{postcode}")
        if swapped:
            keys.add(f"sw:{surname}|{swapped}")
    if forename and postcode:
        keys.add(f"fp:{forename}|{postcode}")
    if postcode and dob:
        keys.add(f"pd:{postcode}|{dob}")
    return sorted(key[:220] for key in keys)
