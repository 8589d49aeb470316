"""Upstream transcription sources: one adapter per provider format, and the connection.

Each adapter (one module per provider) turns its provider's frames into
transcript segments; :mod:`~dispatch_tui.server.sources.registry` lists them by
the format name each declares; :mod:`~dispatch_tui.server.sources.upstream`
keeps the WebSocket to the source open and feeds the relay's pipeline.
"""
