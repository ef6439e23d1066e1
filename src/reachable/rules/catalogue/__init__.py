"""The rule catalogue (``rules.md``), one module per section. Each rule cites its lesson.

Importing this package registers every rule; ``registry.all_rules()`` does it on first use.
"""

from reachable.rules.catalogue import (  # noqa: F401  (imported to register)
    child_protection,
    education_housing,
    exploitation,
    front_door,
    looked_after,
)
