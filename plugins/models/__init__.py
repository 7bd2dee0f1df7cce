"""Built-in models, one family of architectures per file."""
