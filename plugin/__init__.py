"""The node: OpenFX-shaped description, effect, and the hosts that drive it (batch CLI)."""
