"""Sources: one module per origin (Salesforce, Metabase, files, demo) → canonical tables."""
