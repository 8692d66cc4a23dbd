"""Pytest fixtures that run the sandbox upstream as a real process (filled in by the sandbox work)."""
