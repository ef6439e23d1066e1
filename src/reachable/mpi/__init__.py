"""The master person index: clerical review of probable matches, and reversible merges."""
