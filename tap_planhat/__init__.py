"""tap-planhat: Singer tap for Planhat."""
