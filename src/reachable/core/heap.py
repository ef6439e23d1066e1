"""Long jobs set aside the heap they start with, so the garbage collector stops rescanning it.

Python's cyclic collector runs a full collection every so often, and a full collection walks
every tracked object in the process. Once Django, the apps, Splink, DuckDB and the identity
model are loaded, that is well over a million objects that live as long as the process: on
the intake benchmark each full collection took about 70 ms, and together they were a tenth of
the run. ``startup_heap_freeze`` collects once and moves everything still alive into the
collector's permanent generation (``gc.freeze``, the standard-library tool for exactly
this), so later collections look only at what the job itself makes. The long jobs call it
after their first batch, when everything they will use has been loaded: the file import
(``intake.files``) and the benchmark that stands for it. Once per process: what is frozen is
never collected, so freezing again and again in a long-lived process would keep garbage
alive. At exit the heap is unfrozen, so native extensions are torn down as usual.
"""

from __future__ import annotations

import atexit
import gc

_frozen = False


def startup_heap_freeze() -> bool:
    """Collect, then freeze what is left (once per process); returns whether it froze now."""
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)
    _frozen = True
    return True
