"""The relay: rooms and presence (hub), sockets (relay), journal, auth, sources, agents."""
