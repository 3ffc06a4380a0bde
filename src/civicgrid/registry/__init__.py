"""The registry of what is on each grid (一标三实: standard addresses, actual population, houses and units)."""
