"""Family trainers: one module per family, each registering itself via register_trainers."""
