"""dispatch: a WebSocket relay and a terminal console for emergency dispatch."""

__version__ = "0.1.0"
