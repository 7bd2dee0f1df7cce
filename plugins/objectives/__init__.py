"""Built-in training objectives, one family per file."""
