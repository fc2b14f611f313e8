"""The pure domain model: aggregates, events, value objects and invariants. No I/O."""
