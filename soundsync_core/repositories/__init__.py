"""Data access, one module per table group. All SQL is parameterised; bulk writes use COPY."""
