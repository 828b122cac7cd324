"""Warehouse: the canonical tables' contract, the build that runs the SQL models into a new
snapshot, and the store that publishes snapshots atomically and opens them read-only."""
