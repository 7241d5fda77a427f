"""Sentinel Hub services."""

from eoclient.sentinelhub.client import SentinelHub

__all__ = ["SentinelHub"]
