"""Door-to-door campaigns (摸排 / 排查 / 走访) over the registry: targets, tasks per grid, submissions, progress."""
