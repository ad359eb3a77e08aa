"""All DuckDB and file I/O lives here."""
