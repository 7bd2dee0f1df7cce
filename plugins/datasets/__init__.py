"""Built-in datasets, one per file."""
