"""The emulator's Kraken algorithms (map types) and the permissions they need: data, no routes.

The bottom of the SpaceKnow emulator's imports: :mod:`eoclient.emulator.spaceknow.accounts`
reads :func:`algorithm_permissions` to give its login user every algorithm, and
:mod:`eoclient.emulator.spaceknow.kraken` runs the :data:`ALGORITHMS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eoclient.emulator.spaceknow.scenes import PROVIDERS

__all__ = ["ALGORITHMS", "MapType", "algorithm_permissions", "dataset_permission"]


@dataclass(frozen=True)
class MapType:
    """One Kraken algorithm: what it takes (``inputs``), where it runs, what files its tiles have."""

    name: str
    description: str
    inputs: str  # "single" | "pairwise" | "nwise"
    datasets: tuple[tuple[str, str], ...]
    files: Mapping[str, Sequence[str]]
    classes: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    pixel_index: bool = False
    max_mpix: float = 14400.0

    @property
    def file_names(self) -> list[str]:
        return [name for names in self.files.values() for name in names]

    def colors(self, classification: str | None) -> dict[str, tuple[int, int, int]]:
        if classification == "custom_classification":
            # A second palette, so that a custom classification visibly changes the PNGs.
            return {k: (c[2], c[0], c[1]) for k, c in self.classes.items()}
        return dict(self.classes)

    def segmentation(self) -> dict[str, Any]:
        if not self.classes:
            return {}
        default = {
            k: {"color": list(c), "master_class": self.name, "parent_class": k}
            for k, c in self.classes.items()
        }
        custom = {
            k: {"class": k, "color": list(c), "master_class": self.name}
            for k, c in self.colors("custom_classification").items()
        }
        default["undefined"] = {"color": [200, 200, 200], "master_class": self.name}
        custom["undefined"] = {}
        return {
            "segmentationClassification": {"custom_classification": custom, "default": default},
            "segmentationMetadata": {
                "segmentationColors": {self.name: list(next(iter(self.classes.values())))}
            },
        }

    def wire(self, datasets: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
        """The ``/kraken/algorithms`` entry, listing ``datasets`` (default: every one it runs on)."""
        available: dict[str, list[Any]] = {}
        for provider, dataset in self.datasets if datasets is None else datasets:
            info = _DATASET_INFO[(provider, dataset)]
            available.setdefault(provider, []).append(
                [
                    dataset,
                    {
                        "isGlobal": provider == "ee",
                        "marginPx": 80,
                        "minSizePx": 0,
                        "maxGsd": info["resolution"][0] * 1.5,
                        "resolution": info["resolution"][0],
                        "version": f"{self.name}-{provider}-1",
                    },
                ]
            )
        out: dict[str, Any] = {
            "availableDatasets": available,
            "description": self.description,
            "gridFiles": {kind: list(names) for kind, names in self.files.items()},
            "mapType": self.name,
            "maxMpix": self.max_mpix,
            "supportsUserThreshold": self.pixel_index,
            **self.segmentation(),
        }
        if self.name == "aircraft":
            out["deprecatedClasses"] = {"430.2": {"mig-23": [255, 193, 7]}}
        return out


_DATASET_INFO: Final = {(p["provider"], p["dataset"]): p for p in PROVIDERS}
_S2 = ("ee", "COPERNICUS/S2_HARMONIZED")
_S1 = ("ee", "COPERNICUS/S1_GRD")
_PL = ("pl", "PSScene")
_WV = ("gbdx", "idaho-pansharpened")
_PHR = ("airbus", "pleiades")
_RASTER = {"geotiff": ["analysis.geotiff"], "json": ["metadata.json"]}


def _files(png: Sequence[str], *, geojson: bool = False, **more: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"png": list(png), **{k: list(v) for k, v in _RASTER.items()}}
    if geojson:
        out["geojson"] = ["detections.geojson"]
    out.update({k: list(v) for k, v in more.items()})
    return out


ALGORITHMS: Final[dict[str, MapType]] = {
    m.name: m
    for m in [
        MapType(
            "imagery",
            "True colour imagery",
            "single",
            (_S2, _S1, _PL, _WV, _PHR),
            _files(["truecolor.png"], geotiff=["analysis.geotiff", "visualization.geotiff"]),
        ),
        MapType(
            "aircraft",
            "Aircraft detection algorithm",
            "single",
            (_WV, _PHR),
            _files(["segmentation.png", "transport.png", "fighter.png", "rotary-wing.png"], geojson=True),
            {"transport": (255, 88, 151), "fighter": (96, 202, 236), "rotary-wing": (255, 193, 7)},
            max_mpix=1600.0,
        ),
        MapType(
            "ships",
            "Ship detection algorithm",
            "single",
            (_PL, _WV, _PHR),
            _files(["segmentation.png", "ships.png"], geojson=True),
            {"ships": (253, 46, 4)},
            max_mpix=1600.0,
        ),
        MapType(
            "cars",
            "Car and truck detection algorithm",
            "single",
            (_WV, _PHR),
            _files(["segmentation.png", "cars.png", "trucks.png"], geojson=True),
            {"cars": (0, 200, 83), "trucks": (41, 121, 255)},
            max_mpix=1600.0,
        ),
        MapType(
            "trees",
            "Tree cover segmentation",
            "single",
            (_S2, _PL, _WV, _PHR),
            _files(["trees.png"]),
            {"trees": (46, 125, 50)},
        ),
        MapType(
            "ndvi",
            "Normalised difference vegetation index",
            "single",
            (_S2, _PL),
            _files(["ndvi.png"]),
            {},
            True,
        ),
        MapType(
            "change",
            "Optical change detection between two scenes",
            "pairwise",
            (_S2, _PL, _WV, _PHR),
            _files(["change.png"], geojson=True),
            {"change": (255, 0, 0)},
        ),
        MapType(
            "sar-change",
            "SAR change detection between two scenes",
            "pairwise",
            (_S1,),
            _files(["change.png"]),
            {"change": (255, 87, 34)},
        ),
        MapType(
            "sar-cumulated-change",
            "SAR change accumulated over a group of scenes",
            "nwise",
            (_S1,),
            _files(["change.png"]),
            {"change": (233, 30, 99)},
        ),
    ]
}


def dataset_permission(map_type: str, provider: str, dataset: str) -> str:
    """What running ``map_type`` on a dataset needs: ``imagery.images.…`` or ``algorithms.<name>.…``."""
    prefix = "imagery.images" if map_type == "imagery" else f"algorithms.{map_type}"
    return f"{prefix}.{provider}.{dataset}"


def algorithm_permissions() -> set[str]:
    """The ``algorithms.<map type>.<provider>.<dataset>`` permission of every algorithm and dataset."""
    return {
        dataset_permission(m.name, provider, dataset)
        for m in ALGORITHMS.values()
        if m.name != "imagery"
        for provider, dataset in m.datasets
    }
