"""Pure business rules: no Dagster, no I/O. Each module names the spec section it implements."""
