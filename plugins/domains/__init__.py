"""Built-in domains."""
