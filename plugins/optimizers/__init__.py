"""Built-in optimizers (the optimizer axis)."""
