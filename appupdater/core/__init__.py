"""Plain-Python domain logic: version order, planning, runs, fleet files. Never imports Qt."""
