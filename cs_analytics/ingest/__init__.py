"""Ingest: the sources (Salesforce, Metabase, files, demo) that produce the canonical tables, the
file import pipeline and the refresh that writes them into a new snapshot."""
