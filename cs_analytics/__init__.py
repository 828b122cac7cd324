"""CS Analytics: customer-success metrics from DuckDB snapshots of Salesforce and Metabase data."""

__version__ = "0.1.0"
