"""Wire models of the Metadata API: deployment locations and the metadata of user collections.

Names follow the OpenAPI schemas ``Location``, ``BandMetadata`` and
``BYOCCollectionMetadata`` / ``BatchCollectionMetadata`` / ``ZarrCollectionMetadata``
(one shape: :class:`CollectionMetadata`); unknown fields from the server are ignored.
"""

from __future__ import annotations

import msgspec

from eoclient._models import Model

__all__ = ["BandMetadata", "CollectionMetadata", "Location"]


class Location(Model):
    """A Sentinel Hub deployment location (``Location``): its id and its service URLs.

    ``url`` is the deployment's endpoint (what ``base_url`` of a client for
    its data would be); ``at_id`` is the location's own URI (``@id``).
    """

    required_in_answers = ("id",)

    id: str | None = None
    at_id: str | None = msgspec.field(default=None, name="@id")
    url: str | None = None
    wms_url: str | None = None
    process_url: str | None = None
    catalog_url: str | None = None


class BandMetadata(Model):
    """One band of a collection (``BandMetadata``): ``sampleType`` is e.g. ``UINT16`` or ``FLOAT32``."""

    name: str | None = None
    sample_type: str | None = None


class CollectionMetadata(Model):
    """Metadata of a BYOC, batch or Zarr collection: where it is located, and its bands."""

    required_in_answers = ("id",)

    id: str | None = None
    at_id: str | None = msgspec.field(default=None, name="@id")
    location: Location | None = None
    dataset_type: str | None = None
    bands: list[BandMetadata] | None = None

    @property
    def band_names(self) -> list[str]:
        """The names of the bands, in the service's order."""
        return [b.name for b in self.bands or [] if b.name is not None]
