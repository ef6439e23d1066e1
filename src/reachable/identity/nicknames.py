"""Forename variants that agencies use for one child: nicknames, short forms and spellings.

Our own small table, written for this project (no third-party list is copied). Each line is a
group of names one person may be known by; the first name of the group is its canonical form.
A name may sit in only one group, so "is this a variant of that?" is one dictionary look-up
on each side (``forename_canonical``), which the linkage model compares as an exact match.

Groups are kept deliberately tight: a loose group (Liam with William, say) would let twins
called William and Liam look like one child, and twins are the costliest false match there is.
"""

from __future__ import annotations

_GROUPS = """
william bill billy will willy
robert rob robbie bob bobby bert
richard rich richie rick ricky dick
edward ed eddie ted teddy ned
james jim jimmy jamie
john johnny jon
jonathan jonny jonty
thomas tom tommy
michael mike mikey mick mickey
christopher chris kit
nicholas nick nicky
alexander alex alec sandy
alexandra lexi alexa
samuel sam sammy
samantha sammie
benjamin ben benji benny
daniel dan danny
joseph joe joey
joshua josh
matthew matt matty
andrew andy drew
anthony tony ant
charles charlie chas chuck
henry harry hal
frederick fred freddie freddy
george georgie
oliver ollie olly
zachary zach zack
jayden jay jaden jaiden
nathaniel nathan nate
lewis louis
mohammed muhammad mohammad mohamed muhammed
elizabeth liz lizzie beth betty eliza libby
margaret maggie meg peggy
katherine kate katie kathy kat catherine cathy
jennifer jen jenny
rebecca becky becca
victoria vicky tori
jessica jess jessie
charlotte lottie
eleanor ellie nell
isabella bella izzy isabel
abigail abbie abby
natasha tash tasha
stephanie steph
susan sue susie
deborah debbie deb
patricia pat patsy trish
amelia millie
olivia liv livvy
sophie sophia
leah lea
""".strip()


def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _GROUPS.splitlines():
        names = line.split()
        for name in names:
            if name in table:
                raise ValueError(f"{name!r} is in two nickname groups")
            table[name] = names[0]
    return table


NICKNAMES: dict[str, str] = _table()


def forename_canonical(forename: str | None) -> str | None:
    """The group's canonical name for a normalised forename, or the forename itself."""
    if not forename:
        return None
    return NICKNAMES.get(forename, forename)


def variants_of(forename: str) -> list[str]:
    """Every other name in the forename's group (for the synthetic generator and tests)."""
    canonical = NICKNAMES.get(forename.lower())
    if canonical is None:
        return []
    return [n for n, c in NICKNAMES.items() if c == canonical and n != forename.lower()]
