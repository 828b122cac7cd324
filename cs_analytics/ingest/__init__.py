"""Ingest: one module per source (salesforce, metabase, files via imports, demo), each writing
the canonical tables into a build, and refresh.py that runs the configured API sources into one
new snapshot."""
