"""Core: no domain of its own — errors, the clock, events, pagination, scoping, scheduling."""
