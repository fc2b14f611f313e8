"""The Textual terminal app. It talks to the services only, never to the store's adapters."""
