"""The orders service's use cases, one module per capability (see docs/architecture.md): periods,
catalog, ordering (summary, order, invoice), returns (book-return credit)."""
