"""Ingest: one module per source (salesforce, metabase, files via imports, demo) behind the
Source protocol of source.py, each writing the canonical tables into a build, and refresh.py
that runs the configured API sources into one new snapshot."""
