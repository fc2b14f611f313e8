"""Application services: one async entry point per command and query, over the ports."""
