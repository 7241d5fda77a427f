"""Data collections: what a Process API ``type`` is, where it is served, which bands it has.

:class:`DataCollection` describes one collection: its Process API ``type``
(``api_id``), its Catalog (STAC) collection id, the Sentinel Hub deployment
that serves it when it is not the default one (Landsat, MODIS and HLS are on
``https://services-uswest2.sentinel-hub.com``, Sentinel-3 and Sentinel-5P on
``https://creodias.sentinel-hub.com``), its bands with units and sample
types, and whether a cloud-cover filter applies. The well-known collections
are class attributes (``DataCollection.SENTINEL2_L2A``); your own BYOC and
batch collections come from :meth:`DataCollection.define_byoc` and
:meth:`DataCollection.define_batch`.

A collection goes wherever a request takes a data ``type``:
``InputData.of(DataCollection.SENTINEL2_L2A, time_range=...)``, a dict
request's ``{"type": DataCollection.SENTINEL1_IW}``, and
``sh.catalog.search(DataCollection.LANDSAT_OT_L2, ...)``. A request whose
collection lives on another deployment is sent to that deployment, with the
same credentials (Sentinel Hub's deployments share one token endpoint):
Process, Statistical, Async Process, Batch and Catalog calls alike, and the
jobs they create are followed there (:func:`route_request`). A client reaches
Sentinel Hub's own deployments when its ``base_url`` is one of them, and any
other through ``SentinelHub(deployments={public URL: URL})``; a collection on
a deployment it does not reach, or a request mixing two deployments, is
refused before anything is sent (a :class:`~eoclient.errors.ValidationError`
naming ``input.data[i].type``). For Copernicus Data Space or an on-premises
deployment, redefine the collection there::

    OLCI_CDSE = DataCollection.SENTINEL3_OLCI.define_from(
        "SENTINEL3_OLCI_CDSE", service_url="https://sh.dataspace.copernicus.eu")
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Final, NamedTuple, Protocol
from urllib.parse import urlsplit

from eoclient.errors import ValidationError

__all__ = [
    "CREODIAS_URL",
    "MAIN_URL",
    "USWEST_URL",
    "Band",
    "SENTINELHUB_DEPLOYMENTS",
    "DataCollection",
    "Deployment",
    "Deployments",
    "catalog_collection_ids",
    "check_deployment",
    "collections_in",
    "deployment_map",
    "deployment_path",
    "deployment_resume_data",
    "normalize_data_types",
    "resolve_deployment",
    "resumed_deployment",
    "route_collections",
    "route_request",
]

MAIN_URL: Final = "https://services.sentinel-hub.com"
USWEST_URL: Final = "https://services-uswest2.sentinel-hub.com"
CREODIAS_URL: Final = "https://creodias.sentinel-hub.com"

_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Band:
    """One band: its name in an evalscript, the ``units`` it can be read in, and the sample type of each.

    ``units[i]`` comes as ``sample_types[i]`` (``("REFLECTANCE", "DN")`` with
    ``("FLOAT32", "UINT16")`` for Sentinel-2); both are empty where unknown.
    ``resolution``: the native pixel size in metres (``None`` where not listed).
    """

    name: str
    units: tuple[str, ...] = ()
    sample_types: tuple[str, ...] = ()
    resolution: float | None = None


@dataclass(frozen=True, slots=True, repr=False)
class DataCollection:
    """One data collection (immutable). The well-known ones are class attributes.

    * ``api_id``: the Process/Statistical API ``type`` (also :attr:`type`);
    * ``catalog_id``: the Catalog (STAC) collection id, ``None`` when not in the catalog;
    * ``service_url``: the deployment that serves it, ``None`` for any (the default one);
    * ``bands`` / ``metabands``: data bands and auxiliary ones (masks, angles, ``dataMask``);
    * ``has_cloud_coverage``: whether ``dataFilter.maxCloudCoverage`` applies;
    * ``collection_id``: the BYOC or batch collection id;
    * ``data_filter``: ``dataFilter`` entries this collection implies (``demInstance``...).

    Example::

        s2 = DataCollection.SENTINEL2_L2A
        s2.type, s2.catalog_id, s2.band_names[:3]   # ('sentinel-2-l2a', 'sentinel-2-l2a', ('B01', ...))
        mine = DataCollection.define_byoc("0f3ad1a8-1b6e-4c35-9d0c-1a2b3c4d5e6f", name="FIELDS")
        mine.type                                   # 'byoc-0f3ad1a8-...'
    """

    name: str
    api_id: str
    catalog_id: str | None = None
    service_url: str | None = None
    bands: tuple[Band, ...] = ()
    metabands: tuple[Band, ...] = ()
    has_cloud_coverage: bool = False
    collection_id: str | None = None
    data_filter: tuple[tuple[str, str], ...] = field(default=())

    # The catalogue (filled in below the class).
    SENTINEL2_L1C: ClassVar[DataCollection]
    SENTINEL2_L2A: ClassVar[DataCollection]
    SENTINEL1: ClassVar[DataCollection]
    SENTINEL1_IW: ClassVar[DataCollection]
    SENTINEL1_EW: ClassVar[DataCollection]
    SENTINEL1_IW_ASC: ClassVar[DataCollection]
    SENTINEL1_IW_DES: ClassVar[DataCollection]
    SENTINEL1_EW_ASC: ClassVar[DataCollection]
    SENTINEL1_EW_DES: ClassVar[DataCollection]
    SENTINEL1_EW_SH: ClassVar[DataCollection]
    SENTINEL1_EW_SH_ASC: ClassVar[DataCollection]
    SENTINEL1_EW_SH_DES: ClassVar[DataCollection]
    DEM: ClassVar[DataCollection]
    DEM_MAPZEN: ClassVar[DataCollection]
    DEM_COPERNICUS_30: ClassVar[DataCollection]
    DEM_COPERNICUS_90: ClassVar[DataCollection]
    LANDSAT8_L1C: ClassVar[DataCollection]
    LANDSAT_MSS_L1: ClassVar[DataCollection]
    LANDSAT_TM_L1: ClassVar[DataCollection]
    LANDSAT_TM_L2: ClassVar[DataCollection]
    LANDSAT_ETM_L1: ClassVar[DataCollection]
    LANDSAT_ETM_L2: ClassVar[DataCollection]
    LANDSAT_OT_L1: ClassVar[DataCollection]
    LANDSAT_OT_L2: ClassVar[DataCollection]
    MODIS: ClassVar[DataCollection]
    HARMONIZED_LANDSAT_SENTINEL: ClassVar[DataCollection]
    SENTINEL3_OLCI: ClassVar[DataCollection]
    SENTINEL3_SLSTR: ClassVar[DataCollection]
    SENTINEL5P: ClassVar[DataCollection]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValidationError("name", f"must be an identifier such as 'MY_FIELDS', got {self.name!r}")
        if not isinstance(self.api_id, str) or not self.api_id.strip():
            raise ValidationError("api_id", "must be a non-empty Process API type")
        if self.service_url is not None:
            object.__setattr__(self, "service_url", _check_url(self.service_url))

    @property
    def type(self) -> str:
        """The Process API ``input.data[].type`` (same as ``api_id``)."""
        return self.api_id

    @property
    def band_names(self) -> tuple[str, ...]:
        """Names of every band, data bands first, then metabands (``dataMask``...)."""
        return tuple(b.name for b in (*self.bands, *self.metabands))

    def band(self, name: str) -> Band:
        """The band called ``name`` (a ``KeyError`` lists the known names)."""
        for b in (*self.bands, *self.metabands):
            if b.name == name:
                return b
        raise KeyError(
            f"{self.name} has no band {name!r} (has: {', '.join(self.band_names) or 'none known'})"
        )

    @property
    def is_byoc(self) -> bool:
        """A Bring Your Own COG collection (``byoc-<id>``)."""
        return self.api_id.startswith("byoc-")

    @property
    def is_batch(self) -> bool:
        """A collection created by a batch request (``batch-<id>``)."""
        return self.api_id.startswith("batch-")

    def default_data_filter(self) -> dict[str, str]:
        """The ``dataFilter`` entries this collection implies (wire names), e.g. ``{"demInstance": ...}``."""
        return dict(self.data_filter)

    def __repr__(self) -> str:
        where = f", service_url={self.service_url!r}" if self.service_url else ""
        return f"DataCollection({self.name!r}, type={self.api_id!r}{where})"

    # -- the catalogue ------------------------------------------------------------------

    @classmethod
    def get(cls, name: str) -> DataCollection:
        """A known or defined collection by name (``"SENTINEL2_L2A"``) or by unique ``type``."""
        found = _REGISTRY.get(name)
        if found is not None:
            return found
        by_type = [c for c in _REGISTRY.values() if c.api_id == name]
        if len(by_type) == 1:
            return by_type[0]
        if by_type:
            names = ", ".join(c.name for c in by_type)
            raise KeyError(f"type {name!r} is shared by {names}; ask by name")
        raise KeyError(f"no data collection {name!r}")

    @classmethod
    def all(cls) -> tuple[DataCollection, ...]:
        """Every known and defined collection, in definition order."""
        return tuple(_REGISTRY.values())

    @classmethod
    def define(
        cls,
        name: str,
        api_id: str,
        *,
        catalog_id: str | None = None,
        service_url: str | None = None,
        bands: Sequence[Band] = (),
        metabands: Sequence[Band] = (),
        has_cloud_coverage: bool = False,
        collection_id: str | None = None,
        data_filter: Mapping[str, str] | None = None,
    ) -> DataCollection:
        """Define (and register under ``name``) a collection; defining the same one again returns it.

        A different definition under a name already taken raises
        :class:`~eoclient.errors.ValidationError`.
        """
        collection = cls(
            name=name,
            api_id=api_id,
            catalog_id=catalog_id,
            service_url=service_url,
            bands=tuple(bands),
            metabands=tuple(metabands),
            has_cloud_coverage=has_cloud_coverage,
            collection_id=collection_id,
            data_filter=tuple(sorted((data_filter or {}).items())),
        )
        return _register(collection)

    @classmethod
    def define_byoc(
        cls,
        collection_id: str,
        name: str | None = None,
        *,
        service_url: str | None = None,
        bands: Sequence[Band] = (),
        metabands: Sequence[Band] = (),
        has_cloud_coverage: bool = False,
    ) -> DataCollection:
        """A BYOC collection: Process type and catalog id ``byoc-<collection_id>``.

        ``collection_id`` is the collection's UUID (``"byoc-<uuid>"`` is accepted
        too); ``name`` defaults to ``BYOC_<uuid with underscores>``.
        """
        return cls._define_custom(
            "byoc",
            collection_id,
            name,
            service_url=service_url,
            bands=bands,
            metabands=metabands,
            has_cloud_coverage=has_cloud_coverage,
        )

    @classmethod
    def define_batch(
        cls,
        collection_id: str,
        name: str | None = None,
        *,
        service_url: str | None = None,
        bands: Sequence[Band] = (),
        metabands: Sequence[Band] = (),
        has_cloud_coverage: bool = False,
    ) -> DataCollection:
        """A batch collection (the output of a batch request): type and catalog id ``batch-<id>``."""
        return cls._define_custom(
            "batch",
            collection_id,
            name,
            service_url=service_url,
            bands=bands,
            metabands=metabands,
            has_cloud_coverage=has_cloud_coverage,
        )

    @classmethod
    def _define_custom(
        cls,
        kind: str,
        collection_id: str,
        name: str | None,
        *,
        service_url: str | None,
        bands: Sequence[Band],
        metabands: Sequence[Band],
        has_cloud_coverage: bool,
    ) -> DataCollection:
        if not isinstance(collection_id, str):
            raise ValidationError("collection_id", f"expected a string, got {type(collection_id).__name__}")
        raw = collection_id.strip().removeprefix(f"{kind}-")
        try:
            ident = str(uuid.UUID(raw))
        except ValueError:
            raise ValidationError("collection_id", f"not a collection UUID: {collection_id!r}") from None
        return cls.define(
            name or f"{kind.upper()}_{ident.replace('-', '_')}",
            f"{kind}-{ident}",
            catalog_id=f"{kind}-{ident}",
            service_url=service_url,
            bands=bands,
            metabands=metabands,
            has_cloud_coverage=has_cloud_coverage,
            collection_id=ident,
        )

    def define_from(self, name: str, *, service_url: str | None = None, **changes: Any) -> DataCollection:
        """A copy under ``name`` with ``service_url`` (``None``: any deployment) and other fields changed.

        Example::

            OLCI_CDSE = DataCollection.SENTINEL3_OLCI.define_from(
                "SENTINEL3_OLCI_CDSE", service_url="https://sh.dataspace.copernicus.eu")
        """
        if "api_id" in changes or "collection_id" in changes:
            raise ValidationError("define_from", "a copy keeps the collection's type; use define() instead")
        try:
            copy = replace(self, name=name, service_url=service_url, **changes)
        except TypeError as exc:
            raise ValidationError("define_from", str(exc)) from None
        return _register(copy)


_REGISTRY: dict[str, DataCollection] = {}


def _register(collection: DataCollection) -> DataCollection:
    known = _REGISTRY.get(collection.name)
    if known is not None:
        if known == collection:
            return known
        raise ValidationError("name", f"{collection.name!r} is already defined as {known!r}")
    _REGISTRY[collection.name] = collection
    return collection


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("service_url", f"not an http(s) URL: {url!r}")
    return url.strip().rstrip("/")


@functools.lru_cache(maxsize=256)  # the same few URLs, asked on every routed request
@functools.lru_cache(maxsize=256)  # asked for every routed request, with the same few URLs
def _same_deployment(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.netloc.lower(), pa.path.rstrip("/")) == (
        pb.scheme.lower(),
        pb.netloc.lower(),
        pb.path.rstrip("/"),
    )


# -- use in requests -----------------------------------------------------------------------


def _get(obj: Any, key: str, attr: str) -> Any:
    if type(obj) is dict or isinstance(obj, Mapping):  # exact type first: every request
        return obj.get(key)
    return getattr(obj, attr, None)


def collections_in(request: Any) -> Iterator[tuple[int, DataCollection]]:
    """``(i, collection)`` for each ``input.data[i]`` of a request (model or dict) given as a collection."""
    inp = _get(request, "input", "input")
    data = _get(inp, "data", "data") if inp is not None else None
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        return
    for i, item in enumerate(data):
        kind = _get(item, "type", "type")
        if isinstance(kind, DataCollection):
            yield i, kind
        else:
            attached = getattr(item, "data_collection", None)  # InputData.of(...) keeps it
            if isinstance(attached, DataCollection):
                yield i, attached


class Deployments(Protocol):
    """What routing reads of a client's transport: its own URL and where it reaches other deployments."""

    @property
    def base_url(self) -> str: ...

    def deployment_url(self, url: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment a request is routed to: its public URL and where this client reaches it.

    ``root`` prefixes the API paths (``root + "/api/v1/process"``); the jobs
    created there keep it, so their status calls go there too.
    """

    url: str
    """The deployment's public URL (a collection's ``service_url``), kept in resume tokens."""
    root: str
    """Where this client reaches it (the same URL, or what ``deployments=`` maps it to)."""

    def path(self, path: str) -> str:
        """The absolute URL of an API ``path`` on this deployment."""
        return f"{self.root}{path}"


def deployment_path(deployment: Deployment | None, path: str) -> str:
    """``path`` on ``deployment``, or as it is (the client's ``base_url``) when there is none."""
    return path if deployment is None else deployment.path(path)


def resolve_deployment(transport: Deployments, url: str | None, *, field: str) -> Deployment | None:
    """The :class:`Deployment` of a public ``url`` for this client (``None``: the client's own).

    A deployment this client does not reach raises
    :class:`~eoclient.errors.ValidationError` naming ``field``.
    """
    if url is None or _same_deployment(url, transport.base_url):
        return None
    root = transport.deployment_url(url)
    if root is None:
        raise ValidationError(field, _unreachable(url, transport.base_url))
    if _same_deployment(root, transport.base_url):
        return None
    return Deployment(url=_check_url(url), root=root)


def deployment_resume_data(deployment: Deployment | None) -> dict[str, Any]:
    """What a job's resume token keeps of where it runs: the deployment's public URL (none: ``base_url``)."""
    return {} if deployment is None else {"deployment": deployment.url}


def resumed_deployment(transport: Deployments, data: Mapping[str, Any]) -> Deployment | None:
    """The deployment a resume token's job runs on, reached the way this client reaches it."""
    url = data.get("deployment")
    if url is not None and not isinstance(url, str):
        raise ValidationError("resume_token", "malformed deployment")
    return resolve_deployment(transport, url, field="resume_token")


def _unreachable(url: str, base_url: str) -> str:
    return (
        f"this client (base_url={base_url!r}) does not reach {url}: give it "
        f"deployments={{{url!r}: <URL>}} (Sentinel Hub's own deployments are reached by default "
        "when base_url is one of them), or define_from() the collection for your deployment"
    )


SENTINELHUB_DEPLOYMENTS: Final = (MAIN_URL, USWEST_URL, CREODIAS_URL)
"""Sentinel Hub's own deployments: one token endpoint serves them all."""


def deployment_map(base_url: str, given: Mapping[str, str] | None, *, routing: bool = True) -> dict[str, str]:
    """Where a client at ``base_url`` reaches each deployment: ``{public URL: URL}``.

    Sentinel Hub's own deployments at their public URLs when ``base_url`` is
    one of them (they share its token endpoint), then ``given`` over them.
    Without ``routing``: none. A key or value that is not an http(s) URL raises
    :class:`~eoclient.errors.ValidationError` naming ``deployments``.
    """
    if given is not None and not isinstance(given, Mapping):
        raise ValidationError("deployments", f"expected a mapping of URLs, got {type(given).__name__}")
    if not routing:
        return {}
    found: dict[str, str] = {}
    if any(_same_deployment(base_url, url) for url in SENTINELHUB_DEPLOYMENTS):
        found.update({url: url for url in SENTINELHUB_DEPLOYMENTS})
    for public, reached in (given or {}).items():
        try:
            found[_check_url(public)] = _check_url(reached)
        except ValidationError as exc:
            raise ValidationError("deployments", exc.message) from None
    return found


class _Home(NamedTuple):
    """Where one collection of a request lives, and what an error about it names."""

    field: str
    url: str | None
    explicit: bool  # given as a DataCollection (else a string: sent as written where not routable)
    label: str


def _home_of(field_name: str, kind: Any) -> _Home:
    """Where a ``type`` lives: a DataCollection's ``service_url``; a string's by the built-in catalogue."""
    if isinstance(kind, DataCollection):
        return _Home(field_name, kind.service_url, True, f"{kind.name} ({kind.api_id})")
    home = _BUILTIN_HOMES.get(kind) if isinstance(kind, str) else None
    return _Home(field_name, home, False, repr(kind))


def _route(homes: Sequence[_Home], transport: Deployments) -> Deployment | None:
    """The one deployment that serves every collection of ``homes``; see :func:`route_request`."""
    chosen: Deployment | None = None
    first: _Home | None = None
    for home in homes:
        if home.url is None:
            continue  # served anywhere: goes with the others
        if not home.explicit and _unreached(transport, home.url):
            continue  # what resolve_deployment would refuse, without building its error: every request
        try:
            deployment = resolve_deployment(transport, home.url, field=home.field)
        except ValidationError as exc:
            if not home.explicit:
                continue  # a type written as a string is sent as written where it cannot be routed
            raise ValidationError(
                home.field, f"{home.label} is served by {home.url}; {exc.message}"
            ) from None
        if first is None or first.url is None:
            chosen, first = deployment, home
        elif not _same_deployment(first.url, home.url):
            raise ValidationError(
                home.field,
                f"{home.label} is served by {home.url}, {first.label} by {first.url}: "
                "one request reads the collections of one deployment",
            )
    return chosen


def _unreached(transport: Deployments, url: str) -> bool:
    """Whether :func:`resolve_deployment` refuses ``url`` as a deployment this client does not reach."""
    return not _same_deployment(url, transport.base_url) and transport.deployment_url(url) is None


def route_request(request: Any, transport: Deployments, *, prefix: str = "") -> Deployment | None:
    """The deployment a Process-style request goes to (``None``: the client's ``base_url``).

    Each ``input.data[i].type`` given as a :class:`DataCollection` goes where
    its ``service_url`` says (``None``: any deployment); a type written as a
    string goes where the built-in collection of that type lives, when this
    client reaches that deployment (else it is sent as written). Collections
    of two deployments in one request, or a collection on a deployment this
    client does not reach, raise :class:`~eoclient.errors.ValidationError`
    naming ``<prefix>input.data[i].type``.
    """
    if type(request) is dict and _served_anywhere(request):
        return None  # the usual dict: no collection that lives on one deployment, nothing to route
    homes = [
        _home_of(f"{prefix}input.data[{i}].type", kind)
        for i, kind in _data_types(request)
        # A type no built-in collection has is served anywhere: _route passes it by, so no _Home.
        if not (type(kind) is str and _BUILTIN_HOMES.get(kind) is None)
    ]
    return _route(homes, transport)


def route_collections(
    collections: Any, transport: Deployments, *, field: str = "collections"
) -> Deployment | None:
    """The deployment a Catalog call on ``collections`` (one or a list) goes to (``None``: ``base_url``).

    As :func:`route_request`, for collections given as :class:`DataCollection`
    or as catalog ids (a string goes where the built-in collection with that
    catalog id lives).
    """
    values = (
        list(collections)
        if isinstance(collections, Sequence) and not isinstance(collections, str | bytes)
        else [collections]
    )
    homes: list[_Home] = []
    for i, value in enumerate(values):
        where = field if len(values) == 1 else f"{field}[{i}]"
        if isinstance(value, DataCollection):
            homes.append(_home_of(where, value))
        elif isinstance(value, str):
            homes.append(_Home(where, _BUILTIN_CATALOG_HOMES.get(value), False, repr(value)))
    return _route(homes, transport)


def _served_anywhere(request: dict[Any, Any]) -> bool:
    """Whether every ``input.data[i].type`` of a plain dict is a string no built-in collection has.

    (What :func:`route_request` would find without a :class:`_Home` to route: ``None``.) Anything
    else, or anything unusual, is ``False``: the general path decides.
    """
    inp = request.get("input")
    if type(inp) is not dict:
        return False
    data = inp.get("data")
    if type(data) is not list:
        return False
    for item in data:
        if type(item) is not dict:
            return False
        kind = item.get("type")
        if type(kind) is not str or _BUILTIN_HOMES.get(kind) is not None:
            return False
    return True


def _data_types(request: Any) -> Iterator[tuple[int, Any]]:
    inp = _get(request, "input", "input")
    data = _get(inp, "data", "data") if inp is not None else None
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        return
    for i, item in enumerate(data):
        if type(item) is dict:  # a plain dict has no attached collection: no getattr to fail
            yield i, item.get("type")
            continue
        attached = getattr(item, "data_collection", None)  # InputData.of(...) keeps it
        yield i, attached if isinstance(attached, DataCollection) else _get(item, "type", "type")


def check_deployment(request: Any, base_url: str) -> None:
    """Refuse a request with a collection served elsewhere than ``base_url`` (nothing is rerouted).

    For a client that does not route (see :func:`route_request` for one that
    does). Only collections given as :class:`DataCollection` are checked; a
    plain ``type`` string is sent as written.
    """
    for i, collection in collections_in(request):
        url = collection.service_url
        if url is not None and not _same_deployment(url, base_url):
            raise ValidationError(
                f"input.data[{i}].type",
                f"{collection.name} ({collection.api_id}) is served by {url}; " + _unreachable(url, base_url),
            )


def normalize_data_types(request: Any) -> Any:
    """A dict request with every ``input.data[i].type`` DataCollection replaced by its type string.

    The collection's implied ``dataFilter`` entries are added where the item
    does not set them. The user's dict is not changed (copies are made along
    the way); anything else is returned as it is.
    """
    if not (type(request) is dict or isinstance(request, Mapping)):  # exact type first: every request
        return request
    inp = request.get("input")
    data = inp.get("data") if type(inp) is dict or isinstance(inp, Mapping) else None
    if not (type(data) is list or (isinstance(data, Sequence) and not isinstance(data, str | bytes))):
        return request
    if not any(
        isinstance(item.get("type"), DataCollection)
        for item in data
        if type(item) is dict or isinstance(item, Mapping)
    ):
        return request
    items: list[Any] = []
    for item in data:
        kind = item.get("type") if isinstance(item, Mapping) else None
        if not isinstance(kind, DataCollection):
            items.append(item)
            continue
        plain = {**item, "type": kind.api_id}
        if kind.data_filter:
            given = plain.get("dataFilter")
            base = dict(given) if isinstance(given, Mapping) else {}
            plain["dataFilter"] = {**kind.default_data_filter(), **base}
        items.append(plain)
    assert isinstance(inp, Mapping)
    return {**request, "input": {**inp, "data": items}}


def catalog_collection_ids(collections: Any, *, field: str = "collections") -> Any:
    """Catalog ids for DataCollections in ``collections`` (one or a list); other values unchanged.

    A collection that is not in the catalog raises :class:`~eoclient.errors.ValidationError`
    (where the call goes is :func:`route_collections`'s to say).
    """

    def one(value: Any) -> Any:
        if not isinstance(value, DataCollection):
            return value
        if value.catalog_id is None:
            raise ValidationError(field, f"{value.name} ({value.api_id}) is not in the Catalog")
        return value.catalog_id

    if isinstance(collections, DataCollection):
        return one(collections)
    if isinstance(collections, Sequence) and not isinstance(collections, str | bytes):
        return [one(v) for v in collections]
    return collections


# -- the known collections -----------------------------------------------------------------

_REFLECTANCE: Final = (("REFLECTANCE", "DN"), ("FLOAT32", "UINT16"))
_KELVIN: Final = (("KELVIN", "DN"), ("FLOAT32", "UINT16"))
_DEGREES: Final = (("DEGREES",), ("FLOAT32",))
_DN8: Final = (("DN",), ("UINT8",))
_PERCENT8: Final = (("PERCENT",), ("UINT8",))
_LINEAR_POWER: Final = (("LINEAR_POWER",), ("FLOAT32",))
_FLOAT: Final = ((), ("FLOAT32",))
_UNKNOWN: Final = ((), ())


def _bands(
    names: str, kind: tuple[tuple[str, ...], tuple[str, ...]], resolution: float | None = None
) -> tuple[Band, ...]:
    return tuple(Band(n, kind[0], kind[1], resolution) for n in names.split())


_DATA_MASK: Final = _bands("dataMask", _DN8)
_S2_ANGLES: Final = _bands("sunAzimuthAngles sunZenithAngles viewAzimuthMean viewZenithMean", _DEGREES)
_S2_CLOUDS: Final = _bands("CLM CLP", _DN8)
_S1_META: Final = (
    *_bands("localIncidenceAngle", _DEGREES),
    *_bands("scatteringArea", _FLOAT),
    *_bands("shadowMask", _DN8),
    *_DATA_MASK,
)
_DEM_BANDS: Final = (Band("DEM", ("METERS",), ("FLOAT32",)),)

_S2_L1C = _bands("B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12", _REFLECTANCE)
_S2_L2A = _bands("B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12", _REFLECTANCE)

DataCollection.SENTINEL2_L1C = DataCollection.define(
    "SENTINEL2_L1C",
    "sentinel-2-l1c",
    catalog_id="sentinel-2-l1c",
    bands=_S2_L1C,
    metabands=(*_S2_CLOUDS, *_S2_ANGLES, *_DATA_MASK),
    has_cloud_coverage=True,
)
DataCollection.SENTINEL2_L2A = DataCollection.define(
    "SENTINEL2_L2A",
    "sentinel-2-l2a",
    catalog_id="sentinel-2-l2a",
    bands=_S2_L2A,
    metabands=(
        Band("AOT", ("OPTICAL_DEPTH", "DN"), ("FLOAT32", "UINT16")),
        *_bands("SCL", _DN8),
        *_bands("SNW CLD", _PERCENT8),
        *_bands("WVP", _UNKNOWN),
        *_S2_CLOUDS,
        *_S2_ANGLES,
        *_DATA_MASK,
    ),
    has_cloud_coverage=True,
)
_S1_BANDS: Final = _bands("VV VH HH HV", _LINEAR_POWER)


def _sentinel1(
    name: str,
    mode: str | None,
    *,
    polarization: str | None = None,
    orbit: str | None = None,
    bands: tuple[Band, ...] = _S1_BANDS,
) -> DataCollection:
    wanted = {"acquisitionMode": mode, "polarization": polarization, "orbitDirection": orbit}
    data_filter = {k: v for k, v in wanted.items() if v is not None}
    return DataCollection.define(
        name,
        "sentinel-1-grd",
        catalog_id="sentinel-1-grd",
        bands=bands,
        metabands=_S1_META,
        data_filter=data_filter or None,
    )


DataCollection.SENTINEL1 = _sentinel1("SENTINEL1", None)
DataCollection.SENTINEL1_IW = _sentinel1("SENTINEL1_IW", "IW")
DataCollection.SENTINEL1_EW = _sentinel1("SENTINEL1_EW", "EW")
# One orbit direction (the S1Filtering orbitDirection); EW_SH: single HH polarization.
DataCollection.SENTINEL1_IW_ASC = _sentinel1("SENTINEL1_IW_ASC", "IW", orbit="ASCENDING")
DataCollection.SENTINEL1_IW_DES = _sentinel1("SENTINEL1_IW_DES", "IW", orbit="DESCENDING")
DataCollection.SENTINEL1_EW_ASC = _sentinel1("SENTINEL1_EW_ASC", "EW", orbit="ASCENDING")
DataCollection.SENTINEL1_EW_DES = _sentinel1("SENTINEL1_EW_DES", "EW", orbit="DESCENDING")
_S1_HH: Final = _bands("HH", _LINEAR_POWER)
DataCollection.SENTINEL1_EW_SH = _sentinel1("SENTINEL1_EW_SH", "EW", polarization="SH", bands=_S1_HH)
DataCollection.SENTINEL1_EW_SH_ASC = _sentinel1(
    "SENTINEL1_EW_SH_ASC", "EW", polarization="SH", orbit="ASCENDING", bands=_S1_HH
)
DataCollection.SENTINEL1_EW_SH_DES = _sentinel1(
    "SENTINEL1_EW_SH_DES", "EW", polarization="SH", orbit="DESCENDING", bands=_S1_HH
)


def _dem(name: str, instance: str | None) -> DataCollection:
    return DataCollection.define(
        name,
        "dem",
        bands=_DEM_BANDS,
        metabands=_DATA_MASK,
        data_filter={"demInstance": instance} if instance else None,
    )


DataCollection.DEM = _dem("DEM", None)
DataCollection.DEM_MAPZEN = _dem("DEM_MAPZEN", "MAPZEN")
DataCollection.DEM_COPERNICUS_30 = _dem("DEM_COPERNICUS_30", "COPERNICUS_30")
DataCollection.DEM_COPERNICUS_90 = _dem("DEM_COPERNICUS_90", "COPERNICUS_90")
# Landsat Collection 2 before Landsat 8 (docs: "Landsat 1-5 MSS L1", "Landsat 4-5 TM L1/L2",
# "Landsat 7 ETM+ L1/L2"), all on US-West. Optical bands read as reflectance (or DN), thermal ones
# as kelvin; 30 m pixels (MSS: 60 m; thermal bands are resampled to 30 m, ETM+ B08 is 15 m).
_LANDSAT_ANGLES: Final = _bands("VAA VZA SAA SZA", _DEGREES, 30.0)
_LANDSAT_L1_QA: Final = _bands("BQA QA_RADSAT", _UNKNOWN, 30.0)
_LANDSAT_L2_QA: Final = _bands(
    "ST_QA ST_TRAD ST_URAD ST_DRAD ST_ATRAN ST_EMIS ST_EMSD ST_CDIST BQA QA_RADSAT", _UNKNOWN, 30.0
)


def _landsat(name: str, api_id: str, bands: tuple[Band, ...], metabands: tuple[Band, ...]) -> DataCollection:
    return DataCollection.define(
        name,
        api_id,
        catalog_id=api_id,
        service_url=USWEST_URL,
        bands=bands,
        metabands=(*metabands, *_DATA_MASK),
        has_cloud_coverage=True,
    )


DataCollection.LANDSAT_MSS_L1 = _landsat(
    "LANDSAT_MSS_L1",
    "landsat-mss-l1",
    _bands("B01 B02 B03 B04", _REFLECTANCE, 60.0),
    (*_bands("BQA QA_RADSAT", _UNKNOWN, 60.0), *_bands("VAA VZA SAA SZA", _DEGREES, 60.0)),
)
DataCollection.LANDSAT_TM_L1 = _landsat(
    "LANDSAT_TM_L1",
    "landsat-tm-l1",
    (
        *_bands("B01 B02 B03 B04 B05", _REFLECTANCE, 30.0),
        *_bands("B06", _KELVIN, 30.0),
        *_bands("B07", _REFLECTANCE, 30.0),
    ),
    (*_LANDSAT_L1_QA, *_LANDSAT_ANGLES),
)
DataCollection.LANDSAT_TM_L2 = _landsat(
    "LANDSAT_TM_L2",
    "landsat-tm-l2",
    (
        *_bands("B01 B02 B03 B04 B05", _REFLECTANCE, 30.0),
        *_bands("B06", _KELVIN, 30.0),
        *_bands("B07", _REFLECTANCE, 30.0),
    ),
    _LANDSAT_L2_QA,
)
DataCollection.LANDSAT_ETM_L1 = _landsat(
    "LANDSAT_ETM_L1",
    "landsat-etm-l1",
    (
        *_bands("B01 B02 B03 B04 B05", _REFLECTANCE, 30.0),
        *_bands("B06_VCID_1 B06_VCID_2", _KELVIN, 30.0),
        *_bands("B07", _REFLECTANCE, 30.0),
        *_bands("B08", _REFLECTANCE, 15.0),
    ),
    (*_LANDSAT_L1_QA, *_LANDSAT_ANGLES),
)
DataCollection.LANDSAT_ETM_L2 = _landsat(
    "LANDSAT_ETM_L2",
    "landsat-etm-l2",
    (
        *_bands("B01 B02 B03 B04 B05", _REFLECTANCE, 30.0),
        *_bands("B06", _KELVIN, 30.0),
        *_bands("B07", _REFLECTANCE, 30.0),
    ),
    _LANDSAT_L2_QA,
)
# The older Landsat 8 L1C collection (the OpenAPI document's Ls8Dataset), served by the main
# deployment over Europe; landsat-ot-l1 (US-West) is its global successor.
DataCollection.LANDSAT8_L1C = DataCollection.define(
    "LANDSAT8_L1C",
    "landsat-8-l1c",
    catalog_id="landsat-8-l1c",
    bands=(
        *_bands("B01 B02 B03 B04 B05 B06 B07", _REFLECTANCE, 30.0),
        *_bands("B08", _REFLECTANCE, 15.0),
        *_bands("B09", _REFLECTANCE, 30.0),
        *_bands("B10 B11", _KELVIN, 30.0),
    ),
    metabands=(*_bands("BQA", _UNKNOWN, 30.0), *_DATA_MASK),
    has_cloud_coverage=True,
)
DataCollection.LANDSAT_OT_L1 = DataCollection.define(
    "LANDSAT_OT_L1",
    "landsat-ot-l1",
    catalog_id="landsat-ot-l1",
    service_url=USWEST_URL,
    bands=(*_bands("B01 B02 B03 B04 B05 B06 B07 B08 B09", _REFLECTANCE), *_bands("B10 B11", _KELVIN)),
    metabands=(*_bands("BQA QA_RADSAT", _UNKNOWN), *_bands("VAA VZA SAA SZA", _DEGREES), *_DATA_MASK),
    has_cloud_coverage=True,
)
DataCollection.LANDSAT_OT_L2 = DataCollection.define(
    "LANDSAT_OT_L2",
    "landsat-ot-l2",
    catalog_id="landsat-ot-l2",
    service_url=USWEST_URL,
    bands=(*_bands("B01 B02 B03 B04 B05 B06 B07", _REFLECTANCE), *_bands("B10", _KELVIN)),
    metabands=(
        *_bands(
            "ST_QA ST_TRAD ST_URAD ST_DRAD ST_ATRAN ST_EMIS ST_EMSD ST_CDIST QA_PIXEL QA_RADSAT QA_AEROSOL",
            _UNKNOWN,
        ),
        *_DATA_MASK,
    ),
    has_cloud_coverage=True,
)
DataCollection.MODIS = DataCollection.define(
    "MODIS",
    "modis",
    catalog_id="modis",
    service_url=USWEST_URL,
    bands=_bands("B01 B02 B03 B04 B05 B06 B07", _REFLECTANCE),
    metabands=_DATA_MASK,
)
DataCollection.HARMONIZED_LANDSAT_SENTINEL = DataCollection.define(
    "HARMONIZED_LANDSAT_SENTINEL",
    "hls",
    catalog_id="hls",
    service_url=USWEST_URL,
    bands=(
        *_bands(
            "CoastalAerosol Blue Green Red RedEdge1 RedEdge2 RedEdge3 NIR_Broad NIR_Narrow SWIR1 SWIR2 "
            "WaterVapor Cirrus",
            _REFLECTANCE,
        ),
        *_bands("ThermalInfrared1 ThermalInfrared2", _UNKNOWN),
    ),
    metabands=(*_bands("QA", _UNKNOWN), *_bands("VAA VZA SAA SZA", _DEGREES), *_DATA_MASK),
    has_cloud_coverage=True,
)
DataCollection.SENTINEL3_OLCI = DataCollection.define(
    "SENTINEL3_OLCI",
    "sentinel-3-olci",
    catalog_id="sentinel-3-olci",
    service_url=CREODIAS_URL,
    bands=_bands(" ".join(f"B{i:02d}" for i in range(1, 22)), (("REFLECTANCE",), ("FLOAT32",))),
    metabands=(
        *_bands("QUALITY_FLAGS", _UNKNOWN),
        *_bands("SAA SZA VAA VZA", _DEGREES),
        *_bands("HUMIDITY SEA_LEVEL_PRESSURE TOTAL_COLUMN_OZONE TOTAL_COLUMN_WATER_VAPOUR", _FLOAT),
        *_DATA_MASK,
    ),
)
DataCollection.SENTINEL3_SLSTR = DataCollection.define(
    "SENTINEL3_SLSTR",
    "sentinel-3-slstr",
    catalog_id="sentinel-3-slstr",
    service_url=CREODIAS_URL,
    bands=(
        *_bands("S1 S2 S3 S4 S5 S6", (("REFLECTANCE",), ("FLOAT32",))),
        *_bands("S7 S8 S9 F1 F2", (("KELVIN",), ("FLOAT32",))),
    ),
    metabands=_DATA_MASK,
    has_cloud_coverage=True,
)
DataCollection.SENTINEL5P = DataCollection.define(
    "SENTINEL5P",
    "sentinel-5p-l2",
    catalog_id="sentinel-5p-l2",
    service_url=CREODIAS_URL,
    bands=_bands(
        "CO HCHO NO2 O3 SO2 CH4 AER_AI_340_380 AER_AI_354_388 CLOUD_BASE_PRESSURE CLOUD_TOP_PRESSURE "
        "CLOUD_BASE_HEIGHT CLOUD_TOP_HEIGHT CLOUD_OPTICAL_THICKNESS CLOUD_FRACTION",
        _FLOAT,
    ),
    metabands=_DATA_MASK,
)


def _homes(key: Callable[[DataCollection], str | None]) -> dict[str, str]:
    """``key(collection) -> service_url`` of the built-in collections that live on one deployment."""
    found: dict[str, set[str | None]] = {}
    for collection in _REGISTRY.values():
        value = key(collection)
        if value is not None:
            found.setdefault(value, set()).add(collection.service_url)
    homes: dict[str, str] = {}
    for value, urls in found.items():
        url = urls.pop() if len(urls) == 1 else None
        if url is not None:
            homes[value] = url
    return homes


# Frozen now, before users define their own: a string type is routed by the built-in catalogue only.
_BUILTIN_HOMES: Final = _homes(lambda c: c.api_id)
_BUILTIN_CATALOG_HOMES: Final = _homes(lambda c: c.catalog_id)
