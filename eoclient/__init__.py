"""eoclient: an asyncio-first client for Sentinel Hub and SpaceKnow."""

__version__ = "0.1.0"
