"""teei_pipelines: TEEI's automation as one Dagster code location (see README.md and shared/DESIGN.md)."""

__version__ = "0.1.0"
