"""screener package."""
