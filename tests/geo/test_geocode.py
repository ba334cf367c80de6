"""Geocoding end to end: accuracy over the test set, std addresses, reverse, API and CLI."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cityops.cli import app as cli_app
from cityops.config import get_settings
from cityops.geo.boundaries import unit_points
from cityops.geo.crs import transform
from tests.conftest import Backend, Login
from tests.geo.data import make_addresses
from tests.migrations import assert_up_down_up

TEST_SET = Path(__file__).parent / "data" / "addresses-310117.csv"
#: Accuracy floors over the test set. Every address is composed from official names in a style
#: the parser documents, so a miss is a broken rule: the unit must be right in 98%. Communities
#: allow 5% to stay unresolved (an honest answer at unit level) but at most 1% may be wrong.
UNIT_FLOOR = 0.98
COMMUNITY_FLOOR = 0.95
WRONG_COMMUNITY_CEILING = 0.01

JIUTING = "310117107"
LON, LAT = unit_points("310117")[JIUTING]
#: Invented doors near 九亭镇's approximate point (about 100 m apart); one road point.
STD_CSV = f"""address,lon,lat,source
上海市松江区九亭镇涞亭南路123弄45号,{LON:.6f},{LAT:.6f},
上海市松江区九亭镇涞亭南路125号,{LON + 0.001:.6f},{LAT:.6f},
上海市松江区九亭镇沪亭北路,{LON:.6f},{LAT + 0.001:.6f},test road point
松江区泖港镇焦家村3组12号,{unit_points("310117")["310117109"][0]:.6f},{unit_points("310117")["310117109"][1]:.6f},
"""


def read_test_set() -> list[dict[str, str]]:
    """The rows of the test set, comment lines skipped."""
    lines = [line for line in TEST_SET.read_text("utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_the_test_set_is_what_the_generator_writes() -> None:
    rows = read_test_set()
    assert TEST_SET.read_text("utf-8") == make_addresses.render(make_addresses.generate())
    assert len(rows) >= 250
    assert len({r["expected_unit_code"] for r in rows}) == 20
    assert len({r["expected_community_code"] for r in rows if r["expected_community_code"]}) >= 150


def test_accuracy_over_the_test_set(client: TestClient, login: Login, backend: Backend) -> None:
    rows = read_test_set()
    reply = client.post(
        "/api/v1/geo/geocode",
        json={"addresses": [r["address"] for r in rows]},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 200, reply.text
    units = communities = wrong = 0
    missed: Counter[str] = Counter()
    for row, item in zip(rows, reply.json()["items"], strict=True):
        unit = (item["components"]["unit"] or {}).get("code", "")
        community = (item["components"]["community"] or {}).get("code", "")
        units += unit == row["expected_unit_code"]
        communities += community == row["expected_community_code"]
        wrong += bool(community) and community != row["expected_community_code"]
        if (unit, community) != (row["expected_unit_code"], row["expected_community_code"]):
            missed[row["style"]] += 1
    n = len(rows)
    print(
        f"\n[{backend.name}] {n} addresses: unit {units / n:.1%}, community {communities / n:.1%}, "
        f"wrong community {wrong / n:.1%}; misses by style: {dict(missed) or 'none'}"
    )
    assert units / n >= UNIT_FLOOR
    assert communities / n >= COMMUNITY_FLOOR
    assert wrong / n <= WRONG_COMMUNITY_CEILING


def test_batch_is_single(client: TestClient, login: Login) -> None:
    sample = [r["address"] for r in read_test_set()[::20]] + ["无法定位的文字"]
    headers = login.headers("t_duty")
    batch = client.post(
        "/api/v1/geo/geocode", json={"addresses": sample, "crs": "gcj02"}, headers=headers
    ).json()["items"]
    for address, item in zip(sample, batch, strict=True):
        single = client.get(
            "/api/v1/geo/geocode", params={"address": address, "crs": "gcj02"}, headers=headers
        )
        assert single.json() == item


def test_a_full_batch_of_ten_thousand(client: TestClient, login: Login) -> None:
    rows = read_test_set()
    addresses = [rows[i % len(rows)]["address"] for i in range(10_000)]
    body = json.dumps({"addresses": addresses}, ensure_ascii=False).encode("utf-8")  # ~600 kB
    headers = {**login.headers("t_duty"), "Content-Type": "application/json"}
    reply = client.post("/api/v1/geo/geocode", content=body, headers=headers)
    assert reply.status_code == 200, reply.text[:300]
    items = reply.json()["items"]
    assert len(items) == 10_000
    assert items[len(rows)] == items[0]  # the same address answers the same


def test_a_community_answer(client: TestClient, login: Login) -> None:
    headers = login.headers("t_duty")
    address = "上海市松江区九亭镇九亭家园社区居委会涞亭南路123弄45号301室"
    body = client.get("/api/v1/geo/geocode", params={"address": address}, headers=headers).json()
    assert body["level"] == "community" and body["approximate"] is True
    assert body["components"]["community"] == {"code": "310117107040", "name": "九亭家园社区居委会"}
    # Named in full and consistent: trusted (≥ 0.8), yet below a door of the library (1.0).
    assert body["components"]["room"] == "301" and 0.8 <= body["confidence"] < 1.0
    where = client.get(
        "/api/v1/geo/divisions", params={"lon": body["lon"], "lat": body["lat"]}, headers=headers
    ).json()
    assert where["community"]["code"] == "310117107040"  # the point lies in the community
    gcj = client.get(
        "/api/v1/geo/geocode", params={"address": address, "crs": "gcj02"}, headers=headers
    ).json()
    expected = transform(body["lon"], body["lat"], "wgs84", "gcj02")
    assert (gcj["lon"], gcj["lat"]) == pytest.approx(expected, abs=1e-9)


def test_an_address_that_cannot_be_placed_is_an_answer(client: TestClient, login: Login) -> None:
    headers = login.headers("t_duty")
    for address in ("无法定位的文字", "上海市闵行区七宝镇新镇路1号"):
        reply = client.get("/api/v1/geo/geocode", params={"address": address}, headers=headers)
        assert reply.status_code == 200
        body = reply.json()
        assert (body["level"], body["confidence"], body["lon"]) == ("none", 0.0, None)


def _import(
    client: TestClient, login: Login, user: str, text: str
) -> tuple[int, dict[str, object]]:
    reply = client.post(
        "/api/v1/geo/addresses/import",
        files={"file": ("addresses.csv", text.encode("utf-8"), "text/csv")},
        headers=login.headers(user),
    )
    return reply.status_code, reply.json()


def test_import_then_geocode_hits_the_standard_address(client: TestClient, login: Login) -> None:
    status, body = _import(client, login, "t_admin", STD_CSV)
    assert status == 200, body
    assert body["rows"] == 4 and body["inserted"] + body["updated"] == 4
    status, again = _import(client, login, "t_admin", STD_CSV)
    assert (status, again["inserted"], again["updated"]) == (200, 0, 4)
    headers = login.headers("t_duty")

    def geocode(address: str) -> dict[str, object]:
        reply = client.get("/api/v1/geo/geocode", params={"address": address}, headers=headers)
        result: dict[str, object] = reply.json()
        return result

    for address in ("松江九亭涞亭南路１２３弄４５号３０１室", "九亭 涞亭南路123弄45号"):
        hit = geocode(address)
        assert hit["level"] == "std_address" and hit["approximate"] is False, hit
        assert (hit["lon"], hit["lat"]) == pytest.approx((LON, LAT), abs=1e-6)
        assert float(hit["confidence"]) >= 0.9  # type: ignore[arg-type]
    loose = geocode("涞亭南路123弄45号")  # no unit in the text: the library's key still fits
    assert loose["level"] == "std_address" and "unit" in loose["inferred"]  # type: ignore[operator]
    village = geocode("泖港焦家三组十二号")
    assert village["level"] == "std_address"
    road_point = geocode("九亭镇沪亭北路88号")
    assert (road_point["level"], road_point["approximate"]) == ("road", False)
    road_mean = geocode("九亭镇涞亭南路999号")
    assert (road_mean["level"], road_mean["approximate"]) == ("road", True)
    assert road_mean["lon"] == pytest.approx(LON + 0.0005, abs=1e-6)


def test_reverse_returns_divisions_and_the_nearest_address(
    client: TestClient, login: Login
) -> None:
    assert _import(client, login, "t_admin", STD_CSV)[0] == 200
    headers = login.headers("t_duty")
    east = 20.0 / (111_320 * math.cos(math.radians(LAT)))  # 20 m east of the first door
    body = client.get(
        "/api/v1/geo/reverse", params={"lon": LON - east, "lat": LAT}, headers=headers
    ).json()
    assert body["unit"]["code"] == JIUTING and body["community"]["code"].startswith(JIUTING)
    assert body["nearest"]["address"] == "上海市松江区九亭镇涞亭南路123弄45号"
    assert body["nearest"]["distance_m"] == pytest.approx(20.0, abs=0.5)
    gx, gy = transform(LON, LAT, "wgs84", "gcj02")
    batch = client.post(
        "/api/v1/geo/reverse",
        json={"points": [[gx, gy], [121.47, 31.23]], "crs": "gcj02", "radius_m": 50},
        headers=headers,
    ).json()
    near, far = batch["items"]
    assert near["nearest"]["distance_m"] == pytest.approx(0.0, abs=0.01)
    assert (near["nearest"]["lon"], near["nearest"]["lat"]) == pytest.approx((gx, gy), abs=1e-7)
    assert far["inside_district"] is False and far["nearest"] is None


def test_import_refusals(client: TestClient, login: Login) -> None:
    status, body = _import(client, login, "t_admin", "address,lon,lat\n九亭镇,121.3,31.1\n")
    assert status == 422 and "line 2" in str(body["detail"])
    status, body = _import(
        client, login, "t_admin", "address,lon,lat\n九亭镇涞亭南路1号,31.1,121.3\n"
    )
    assert status == 422 and "not in Shanghai" in str(body["detail"])
    status, body = _import(client, login, "t_admin", "address,lat\nx,1\n")
    assert status == 422 and "lon" in str(body["detail"])
    status, _ = _import(client, login, "t_duty", STD_CSV)
    assert status == 403
    status, body = _import(client, login, "t_sijing_admin", STD_CSV)  # 九亭 is not 泗泾's
    assert (status, body["type"]) == (403, "/problems/out-of-scope")


def test_cli_import(backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "addresses.csv"
    path.write_bytes(STD_CSV.encode("gb18030"))  # government files are often GB18030
    monkeypatch.setenv("CITYOPS_DATABASE_URL", backend.settings.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["geo", "import-addresses", str(path)])
        refused = CliRunner().invoke(
            cli_app, ["geo", "import-addresses", str(path), "--crs", "mars"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "imported 4 rows" in result.output
    assert refused.exit_code == 2


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/geo/geocode", {"params": {"address": ""}}),
        ("GET", "/api/v1/geo/geocode", {"params": {"address": "   "}}),
        ("GET", "/api/v1/geo/geocode", {"params": {"address": "九" * 201}}),
        ("GET", "/api/v1/geo/geocode", {"params": {"address": "九亭", "crs": "mars"}}),
        ("GET", "/api/v1/geo/geocode", {"params": {}}),
        ("POST", "/api/v1/geo/geocode", {"json": {"addresses": []}}),
        ("POST", "/api/v1/geo/geocode", {"json": {"addresses": ["九亭", " "]}}),
        ("POST", "/api/v1/geo/geocode", {"json": {"addresses": ["九" * 201]}}),
        ("POST", "/api/v1/geo/geocode", {"json": {"addresses": ["a"] * 10_001}}),
        ("POST", "/api/v1/geo/geocode", {"json": {"addresses": ["九亭"], "crs": "sh2000"}}),
        ("GET", "/api/v1/geo/reverse", {"params": {"lon": "nan", "lat": 31.0}}),
        ("GET", "/api/v1/geo/reverse", {"params": {"lon": 121.2, "lat": 31.0, "crs": "mars"}}),
        ("GET", "/api/v1/geo/reverse", {"params": {"lon": 121.2, "lat": 31.0, "radius_m": 0}}),
        ("POST", "/api/v1/geo/reverse", {"json": {"points": []}}),
        ("POST", "/api/v1/geo/reverse", {"json": {"points": [[1, 2]], "radius_m": 1e9}}),
    ],
)
def test_bad_input_is_a_problem(
    client: TestClient, login: Login, method: str, path: str, kwargs: dict[str, object]
) -> None:
    reply = client.request(method, path, headers=login.headers("t_duty"), **kwargs)  # type: ignore[arg-type]
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"


def test_migration_0004_goes_down_and_up(tmp_path: Path) -> None:
    assert_up_down_up(tmp_path / "m.db", "0004", "0003", {"std_address"})


def test_csv_helpers_read_chinese_headers() -> None:
    from cityops.geo.address.geocode import read_std_address_csv

    text = "地址,经度,纬度\n九亭镇涞亭南路1号,121.3,31.1\n"
    rows = read_std_address_csv(io.BytesIO(text.encode("utf-8-sig")).getvalue(), "wgs84")
    assert rows[0].address == "九亭镇涞亭南路1号" and rows[0].lon == pytest.approx(121.3)


def test_an_ambiguous_address_says_so_over_http(client: TestClient, login: Login) -> None:
    headers = login.headers("t_duty")
    params = {"address": "长桥静水路5号"}  # 岳阳's 长桥社区, or 徐汇区长桥街道
    body = client.get("/api/v1/geo/geocode", params=params, headers=headers).json()
    assert body["ambiguous"] is True and body["level"] == "none" and body["lon"] is None
    assert {"长桥社区居委会", "徐汇区长桥街道"} <= {a["name"] for a in body["alternatives"]}
    placed = client.get(
        "/api/v1/geo/geocode", params={"address": "岳阳街道长桥静水路5号"}, headers=headers
    ).json()
    assert placed["ambiguous"] is False and placed["confidence"] >= 0.8
