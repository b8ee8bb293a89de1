"""Connector plugins for TempClock: the contract for plugin authors, and first-party connectors."""
