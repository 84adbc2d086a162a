"""The reference solutions: one module per exercise, the single source of the stubs."""
