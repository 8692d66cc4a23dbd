"""The home page at `/` (URL name `dashboard`) is the home app's dashboard: cards of kept tallies."""

from home.views import dashboard

__all__ = ["dashboard"]
