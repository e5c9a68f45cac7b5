"""Thompson sampling: ``options`` (what a surrogate asks of it), ``candidates`` (where a
draw is searched), ``thompson`` (draws, their polished argmins, the exclusion)."""
