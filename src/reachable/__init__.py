"""Reachable: every agency's information about a child in one place, in time."""
