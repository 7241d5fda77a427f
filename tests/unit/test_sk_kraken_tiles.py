"""The emulated Kraken's grid files are real formats, deterministic, and consistent within a tile."""

from __future__ import annotations

import json
import math
import struct
import zlib

import pytest

from eoclient.emulator.spaceknow.tiles import (
    TILE_SIZE,
    TileSpec,
    detection_filter,
    detections,
    geotiff,
    lonlat_to_tile,
    mercator_bounds,
    png,
    render,
    tile_bounds,
    tiles_covering,
)

WORLD = (-180.0, -85.0, 180.0, 85.0)
CLASSES = {"transport": (255, 88, 151), "fighter": (96, 202, 236)}


def spec(**kw: object) -> TileSpec:
    base: dict[str, object] = {
        "map_id": "m1",
        "map_type": "aircraft",
        "zoom": 16,
        "x": 35210,
        "y": 22280,
        "area": WORLD,
        "classes": CLASSES,
    }
    base.update(kw)
    return TileSpec(**base)  # type: ignore[arg-type]


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Check signature, chunk order and CRCs; return width, height, colour type, raw scanlines."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, tags, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(tag + body)
        tags.append(tag)
        if tag == b"IHDR":
            width, height, depth, color_type, *_ = struct.unpack(">IIBBBBB", body)
            assert depth == 8
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    assert tags == [b"IHDR", b"IDAT", b"IEND"]
    return width, height, color_type, zlib.decompress(idat)


def pixel(raw: bytes, width: int, channels: int, col: int, row: int) -> bytes:
    stride = 1 + width * channels
    start = row * stride + 1 + col * channels
    return raw[start : start + channels]


def tiff_tags(data: bytes) -> dict[int, tuple[int, int, int]]:
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack("<I", data[4:8])
    (n,) = struct.unpack("<H", data[ifd : ifd + 2])
    out = {}
    for i in range(n):
        tag, kind, count, value = struct.unpack("<HHII", data[ifd + 2 + 12 * i : ifd + 14 + 12 * i])
        out[tag] = (kind, count, value)
    return out


def test_tile_math_round_trips() -> None:
    # The reference's example tile lies in San Francisco.
    west, south, east, north = tile_bounds(19, 83861, 202628)
    assert -122.5 < west < east < -122.3 and 37.6 < south < north < 37.9
    fx, fy = lonlat_to_tile((west + east) / 2, (south + north) / 2, 19)
    assert (math.floor(fx), math.floor(fy)) == (83861, 202628)
    assert tiles_covering(WORLD, 0) == [(0, 0, 0)]
    assert len(tiles_covering(WORLD, 2)) == 16
    bbox = (14.40, 50.05, 14.50, 50.10)
    tiles = tiles_covering(bbox, 14)
    for z, x, y in tiles:
        w, s, e, n = tile_bounds(z, x, y)
        assert w < bbox[2] and e > bbox[0] and s < bbox[3] and n > bbox[1]
    xs, ys = {t[1] for t in tiles}, {t[2] for t in tiles}
    assert len(tiles) == len(xs) * len(ys) and max(xs) - min(xs) == len(xs) - 1
    min_x, min_y, max_x, max_y = mercator_bounds(1, 0, 0)
    assert min_x == pytest.approx(-20037508.34) and max_y == pytest.approx(20037508.34)
    assert max_x == pytest.approx(0, abs=1e-6) and min_y == pytest.approx(0, abs=1e-6)


def test_png_writer() -> None:
    data = png(2, 1, [b"\x00\xff"], color_type=0)
    assert png_pixels(data) == (2, 1, 0, b"\x00\x00\xff")


@pytest.mark.parametrize(
    ("name", "color_type"),
    [("truecolor.png", 2), ("segmentation.png", 6), ("transport.png", 6)],
)
def test_png_files(name: str, color_type: int) -> None:
    data, media = render(spec(), name)
    assert media == "image/png"
    width, height, kind, raw = png_pixels(data)
    channels = {2: 3, 6: 4}[kind]
    assert (width, height, kind) == (TILE_SIZE, TILE_SIZE, color_type)
    assert len(raw) == height * (1 + width * channels)
    assert render(spec(), name)[0] == data  # deterministic
    assert render(spec(x=35211), name)[0] != data


def test_detections_match_the_masks_and_the_geojson() -> None:
    tile = spec()
    found = detections(tile)
    assert found
    _, _, _, seg = png_pixels(render(tile, "segmentation.png")[0])
    _, _, _, transport = png_pixels(render(tile, "transport.png")[0])
    for det in found:
        cx, cy = (det.x0 + det.x1) // 2, (det.y0 + det.y1) // 2
        painted = pixel(seg, TILE_SIZE, 4, cx, cy)
        assert painted[3] == 255
        if det.cls == "transport":
            assert pixel(transport, TILE_SIZE, 4, cx, cy) == bytes([*CLASSES["transport"], 255])
    collection = json.loads(render(tile, "detections.geojson")[0])
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == len(found)
    west, south, east, north = tile_bounds(tile.zoom, tile.x, tile.y)
    for feature in collection["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) == 5
        assert all(west <= lon <= east and south <= lat <= north for lon, lat in ring)
        props = feature["properties"]
        assert props["class"] in CLASSES and props["area"] == pytest.approx(
            props["width"] * props["height"], rel=0.01
        )


def test_detection_filters_filter_the_geojson() -> None:
    every = json.loads(render(spec(), "detections.geojson")[0])["features"]
    cut = sorted(f["properties"]["area"] for f in every)[len(every) // 2]
    filters = detection_filter(f"area gt {cut}\nscore le 1")
    kept = json.loads(render(spec(detection_filters=filters), "detections.geojson")[0])["features"]
    assert 0 < len(kept) < len(every) and all(f["properties"]["area"] > cut for f in kept)
    only = detection_filter("class eq fighter")
    fighters = json.loads(render(spec(detection_filters=only), "detections.geojson")[0])["features"]
    assert all(f["properties"]["class"] == "fighter" for f in fighters)


@pytest.mark.parametrize("text", ["area gt", "area about 5", "colour eq red", "width lt wide", "a b c d"])
def test_detection_filter_parse_errors(text: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        detection_filter(text)


def test_pixel_index_and_user_threshold() -> None:
    grey = spec(map_type="ndvi", classes={}, pixel_index=True)
    _, _, kind, raw = png_pixels(render(grey, "ndvi.png")[0])
    assert kind == 0 and len(set(raw)) > 50
    binary = spec(map_type="ndvi", classes={}, pixel_index=True, user_threshold=0.3)
    _, _, _, bits = png_pixels(render(binary, "ndvi.png")[0])
    assert set(bits) == {0, 255}


def test_clipping_to_the_analysed_area() -> None:
    west, south, east, north = tile_bounds(16, 35210, 22280)
    left_half = (west, south, (west + east) / 2, north)
    _, _, _, raw = png_pixels(render(spec(area=left_half), "truecolor.png")[0])
    assert pixel(raw, TILE_SIZE, 3, 10, 128) != b"\x00\x00\x00"
    assert pixel(raw, TILE_SIZE, 3, 250, 128) == b"\x00\x00\x00"
    _, _, _, unclipped = png_pixels(render(spec(area=left_half, unclipped=True), "truecolor.png")[0])
    assert pixel(unclipped, TILE_SIZE, 3, 250, 128) != b"\x00\x00\x00"
    elsewhere = (0.0, 0.0, 1.0, 1.0)
    assert detections(spec(area=elsewhere)) == []


def test_geotiffs_are_georeferenced_in_web_mercator() -> None:
    tile = spec()
    for name, samples, bits, fmt in [("analysis.geotiff", 1, 32, 3), ("visualization.geotiff", 3, 8, 1)]:
        data, media = render(tile, name)
        assert media == "image/tiff"
        tags = tiff_tags(data)
        assert list(tags) == sorted(tags)
        assert tags[256][2] == TILE_SIZE and tags[257][2] == TILE_SIZE
        assert tags[259][2] == 1 and tags[277][2] == samples
        strip, size = tags[273][2], tags[279][2]
        assert size == TILE_SIZE * TILE_SIZE * samples * bits // 8 and strip + size == len(data)
        assert strip % 2 == 0
        kind, count, offset = tags[33550]
        scale = struct.unpack("<3d", data[offset : offset + 24])
        min_x, min_y, max_x, max_y = mercator_bounds(tile.zoom, tile.x, tile.y)
        assert (kind, count) == (12, 3)
        assert scale[0] == pytest.approx((max_x - min_x) / TILE_SIZE)
        assert scale[1] == pytest.approx((max_y - min_y) / TILE_SIZE)
        kind, count, value = tags[339]
        formats = [value] if count == 1 else list(struct.unpack("<3H", data[value : value + 6]))
        assert formats == [fmt] * samples
        _, _, offset = tags[33922]
        tie = struct.unpack("<6d", data[offset : offset + 48])
        assert tie[3:5] == pytest.approx((min_x, max_y))
        _, count, offset = tags[34735]
        keys = struct.unpack(f"<{count}H", data[offset : offset + 2 * count])
        assert keys == (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 3857)
        if samples == 1:
            first = struct.unpack("<f", data[strip : strip + 4])[0]
            assert -1.0 <= first <= 1.0


def test_geotiff_writer_checks_the_pixel_count() -> None:
    with pytest.raises(ValueError, match="pixel data"):
        geotiff(2, 2, b"\x00" * 3, bounds_3857=(0.0, 0.0, 1.0, 1.0))


def test_metadata_json() -> None:
    meta = json.loads(render(spec(metadata={"sceneIds": ["s1"]}), "metadata.json")[0])
    assert meta["tile"] == [16, 35210, 22280] and meta["sceneIds"] == ["s1"] and meta["crsEpsg"] == 3857
    with pytest.raises(ValueError, match="no generator"):
        render(spec(), "segmentation.ski")
