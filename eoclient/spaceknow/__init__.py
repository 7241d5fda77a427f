"""SpaceKnow services."""

from eoclient.spaceknow.client import SpaceKnow

__all__ = ["SpaceKnow"]
