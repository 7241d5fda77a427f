"""Bad input is named before anything is sent (issue #10): settings, URLs, resume tokens, geometry rules.

Nothing here opens a connection: each mistake must be a
:class:`~eoclient.errors.ValidationError` (or, for the environment and config
files, a :class:`~eoclient.errors.ConfigurationError`) naming the setting,
never a ``TypeError``, ``AttributeError`` or ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eoclient import ConnectionLimits, PollPolicy, RetryPolicy, SentinelHub, SpaceKnow, Timeouts
from eoclient.config import sentinelhub_settings, spaceknow_settings
from eoclient.errors import ConfigurationError, ValidationError
from eoclient.geo import BBox, as_geojson, crs_extent
from eoclient.jobs import Job, resume_job
from eoclient.sentinelhub.byoc_models import area_geometry

UID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
PIPELINE_ID = "3g4PovfhGxmymQolpgvv"
OFFLINE = "http://127.0.0.1:9"  # never connected to


def offline_sh(**kwargs: Any) -> SentinelHub:
    kwargs.setdefault("base_url", OFFLINE)
    kwargs.setdefault("token_url", f"{OFFLINE}/token")
    return SentinelHub("bad-input-id", "bad-input-secret-3b9f", **kwargs)


def offline_sk(**kwargs: Any) -> SpaceKnow:
    kwargs.setdefault("base_url", OFFLINE)
    kwargs.setdefault("auth_url", f"{OFFLINE}/oauth/ro")
    return SpaceKnow("bad-input@example.com", "bad-input-password-8c2e", **kwargs)


# -- settings ------------------------------------------------------------------------------------

BAD_SETTINGS: list[tuple[Callable[[], Any], str]] = [
    (lambda: RetryPolicy(attempts="3"), "RetryPolicy.attempts"),  # type: ignore[arg-type]
    (lambda: RetryPolicy(attempts=True), "RetryPolicy.attempts"),
    (lambda: RetryPolicy(initial_backoff=-1), "RetryPolicy.initial_backoff"),
    (lambda: RetryPolicy(max_backoff=float("nan")), "RetryPolicy.max_backoff"),
    (lambda: RetryPolicy(max_retry_after="60"), "RetryPolicy.max_retry_after"),  # type: ignore[arg-type]
    (lambda: RetryPolicy(multiplier="2"), "RetryPolicy.multiplier"),  # type: ignore[arg-type]
    (lambda: RetryPolicy(retry_statuses=frozenset({503, "429"})), "RetryPolicy.retry_statuses"),  # type: ignore[arg-type]
    (lambda: RetryPolicy(retry_statuses=503), "RetryPolicy.retry_statuses"),  # type: ignore[arg-type]
    (lambda: Timeouts(total=-1), "Timeouts.total"),
    (lambda: Timeouts(connect="10"), "Timeouts.connect"),  # type: ignore[arg-type]
    (lambda: Timeouts(read=0), "Timeouts.read"),
    (lambda: Timeouts(total=float("inf")), "Timeouts.total"),
    (lambda: ConnectionLimits(total="x"), "ConnectionLimits.total"),  # type: ignore[arg-type]
    (lambda: ConnectionLimits(per_host=-1), "ConnectionLimits.per_host"),
    (lambda: ConnectionLimits(total=2.5), "ConnectionLimits.total"),  # type: ignore[arg-type]
    (lambda: ConnectionLimits(keepalive_timeout=None), "ConnectionLimits.keepalive_timeout"),  # type: ignore[arg-type]
    (lambda: PollPolicy(jitter="0.1"), "PollPolicy.jitter"),  # type: ignore[arg-type]
    (lambda: PollPolicy(multiplier="1.5"), "PollPolicy.multiplier"),  # type: ignore[arg-type]
    (lambda: PollPolicy(initial=True), "PollPolicy.initial"),
    (lambda: PollPolicy(deadline=-1), "PollPolicy.deadline"),
    (lambda: offline_sh(retry={"attempts": 3}), "retry"),
    (lambda: offline_sk(timeouts=30), "timeouts"),
    (lambda: offline_sh(limits={"total": 10}), "limits"),
    (lambda: offline_sk(poll="fast"), "poll"),
]


@pytest.mark.parametrize(("make", "field"), BAD_SETTINGS, ids=[f for _, f in BAD_SETTINGS])
def test_bad_settings_are_named(make: Callable[[], Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make()
    assert info.value.field == field


def test_good_settings_still_work() -> None:
    assert RetryPolicy(retry_statuses={500, 503}).retry_statuses == frozenset({500, 503})  # type: ignore[arg-type]
    assert Timeouts(connect=None, read=1, total=2.5).read == 1
    assert ConnectionLimits(total=0, per_host=0, keepalive_timeout=0).total == 0
    assert PollPolicy(jitter=0, deadline=None).jitter == 0


# -- URLs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: offline_sh(base_url="services.sentinel-hub.com"), "base_url"),
        (lambda: offline_sh(token_url="ftp://services.sentinel-hub.com/token"), "token_url"),
        (lambda: offline_sh(base_url="https://"), "base_url"),
        (lambda: offline_sh(base_url=8080), "base_url"),
        (lambda: offline_sk(base_url="api.spaceknow.com"), "base_url"),
        (lambda: offline_sk(auth_url="//spaceknow.auth0.com/oauth/ro"), "auth_url"),
    ],
)
def test_urls_given_as_arguments_need_http_or_https(make: Callable[[], Any], field: str) -> None:
    with pytest.raises(ValidationError, match=r"http:// or https://|must be a string") as info:
        make()
    assert info.value.field == field


@pytest.mark.parametrize(
    ("resolve", "var"),
    [
        (lambda env: sentinelhub_settings(client_id="a", client_secret="b", env=env), "SH_BASE_URL"),
        (lambda env: sentinelhub_settings(client_id="a", client_secret="b", env=env), "SH_TOKEN_URL"),
        (lambda env: spaceknow_settings(username="a", password="b", env=env), "SK_BASE_URL"),
        (lambda env: spaceknow_settings(username="a", password="b", env=env), "SK_AUTH_URL"),
    ],
)
def test_urls_from_the_environment_name_the_variable(
    tmp_path: Path, resolve: Callable[[dict[str, str]], Any], var: str
) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), var: "localhost:8080/api"}
    with pytest.raises(ConfigurationError, match=f"{var}.*http:// or https://"):
        resolve(env)


def test_urls_from_a_config_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    table = 'client_id = "a"\nclient_secret = "b"\nbase_url = "sh.dataspace.copernicus.eu"\n'
    path.write_text(f"[default.sentinelhub]\n{table}")
    with pytest.raises(ConfigurationError, match=r"base_url .*config\.toml.* http:// or https://"):
        sentinelhub_settings(config_file=path, env={})


# -- resume tokens ---------------------------------------------------------------------------------


def test_a_resume_token_names_its_service() -> None:
    sh, sk = offline_sh(), offline_sk()
    assert msgspec.json.decode(sh.batch.job(UID).resume_token)["service"] == "sentinelhub"
    assert (
        msgspec.json.decode(sk.pipeline(PIPELINE_ID, retrieve="/kraken/release/retrieve").resume_token)[
            "service"
        ]
        == "spaceknow"
    )


def test_a_token_on_another_services_client_is_refused() -> None:
    sh, sk = offline_sh(), offline_sk()
    sk_token = sk.pipeline(PIPELINE_ID, retrieve="/kraken/release/retrieve").resume_token
    sh_token = sh.async_process.job(UID).resume_token
    for token, client, mine, other in (
        (sk_token, sh, "SpaceKnow", "Sentinel Hub"),
        (sh_token, sk, "Sentinel Hub", "SpaceKnow"),
    ):
        for resume in (client.resume_job, lambda t, c=client: resume_job(t, c)):
            with pytest.raises(ValidationError, match=rf"a {mine} job's token.*on a {other} client") as info:
                resume(token)
            assert info.value.field == "resume_token"


@pytest.mark.parametrize("client", [None, object(), "sentinelhub"])
def test_a_token_needs_a_client_of_its_service(client: Any) -> None:
    token = offline_sh().batch.job(UID).resume_token
    with pytest.raises(ValidationError, match="Sentinel Hub") as info:
        resume_job(token, client)
    assert info.value.field == "resume_token"


def test_tokens_written_before_the_service_was_named_still_work() -> None:
    sh, sk = offline_sh(), offline_sk()
    old = msgspec.json.encode(
        {
            "v": 1,
            "kind": "spaceknow.pipeline",
            "id": PIPELINE_ID,
            "data": {"retrieve": "/kraken/release/retrieve"},
        }
    )
    assert isinstance(sk.resume_job(old), Job)
    with pytest.raises(ValidationError, match=r"SpaceKnow job's token.*Sentinel Hub client"):
        sh.resume_job(old)


def test_a_token_whose_service_contradicts_its_kind_is_refused() -> None:
    token = msgspec.json.decode(offline_sh().batch.job(UID).resume_token)
    token["service"] = "spaceknow"
    with pytest.raises(ValidationError, match="altered") as info:
        offline_sk().resume_job(msgspec.json.encode(token))
    assert info.value.field == "resume_token"


# -- geometry rules (the integration tests run them through every service) --------------------------


def test_bboxes_are_checked_in_their_own_crs() -> None:
    with pytest.raises(ValidationError, match="latitude 91") as info:
        BBox(14.0, 45.0, 15.0, 91.0)
    assert info.value.field == "bbox[3]"
    with pytest.raises(ValidationError, match="easting -1") as info:
        BBox(-1.0, 5_000_000.0, 1000.0, 5_001_000.0, crs=32633)
    assert info.value.field == "bbox[0]"
    assert BBox(500_000.0, 5_000_000.0, 501_000.0, 5_001_000.0, crs="EPSG:32733").crs.endswith("/32733")
    assert crs_extent("EPSG:3857") is None  # not known: not checked


def test_geometry_structure_is_named_where_it_is_wrong() -> None:
    line = {"type": "LineString", "coordinates": [[14.0, 45.0]]}
    with pytest.raises(ValidationError, match="at least two positions") as info:
        as_geojson({"type": "GeometryCollection", "geometries": [line]}, field="g")
    assert info.value.field == "g.geometries[0].coordinates"
    with pytest.raises(ValidationError, match="position is") as info:
        as_geojson({"type": "Point", "coordinates": [14.0, 45.0, 1.0, 2.0]}, field="g")
    assert info.value.field == "g.coordinates"
    with pytest.raises(ValidationError, match="no geometry") as info:
        as_geojson({"type": "Feature", "properties": {}, "geometry": None}, field="g")
    assert info.value.field == "g.geometry"


def test_a_byoc_cover_in_another_crs_says_so() -> None:
    ring = [[500_000, 5_000_000], [501_000, 5_000_000], [501_000, 5_001_000], [500_000, 5_000_000]]
    utm = {"name": "urn:ogc:def:crs:EPSG::32633"}
    cover = {"type": "Polygon", "crs": {"type": "name", "properties": utm}, "coordinates": [ring]}
    assert area_geometry(cover, field="tile.coverGeometry")["coordinates"] == [ring]
    with pytest.raises(ValidationError, match="longitude 500000") as info:
        area_geometry({"type": "Polygon", "coordinates": [ring]}, field="tile.coverGeometry")
    assert info.value.field == "tile.coverGeometry.coordinates[0][0][0]"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"per_second": "3"}, "RateLimit.per_second"),
        ({"per_second": 0}, "RateLimit.per_second"),
        ({"per_minute": True}, "RateLimit.per_minute"),
        ({"per_minute": float("nan")}, "RateLimit.per_minute"),
        ({"burst": 1.5}, "RateLimit.burst"),
        ({"burst": "2"}, "RateLimit.burst"),
        ({"min_fraction": 0}, "RateLimit.min_fraction"),
        ({"min_fraction": 2}, "RateLimit.min_fraction"),
        ({"max_wait": -1}, "RateLimit.max_wait"),
        ({"max_wait": "60"}, "RateLimit.max_wait"),
    ],
)
def test_rate_limit_settings_are_named(kwargs: dict, field: str) -> None:
    from eoclient._http.ratelimit import RateLimit

    with pytest.raises(ValidationError) as info:
        RateLimit(**kwargs)
    assert info.value.field == field
