"""Built-in metrics, one per file."""
