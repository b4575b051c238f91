"""Lookup lists and their terms through the gateway API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from gateway.domain.lookup_lists import python_name

from .test_labeling import API


def test_python_name_derivation() -> None:
    assert python_name("My List") == "my_list"
    assert python_name("Stock-Symbols (US)!") == "stocksymbols_us"
    assert python_name("2021 Companies") == "_2021_companies"
    assert python_name("  café  ") == "__café__"
    assert python_name("!!!") == ""


def test_list_lifecycle_terms_and_imports(client: TestClient, project: dict[str, Any]) -> None:
    base = f"{API}/{project['id']}/lookup-lists"
    created = client.post(base, json={"name": "Stock Symbols", "description": "tickers"})
    assert created.status_code == 201
    lst = created.json()
    assert lst["python_name"] == "stock_symbols"
    assert client.get(f"{base}/{lst['id']}/python").json() == {
        "python_name": "stock_symbols",
        "snippet": "from knowledge import stock_symbols",
    }
    dup = client.post(base, json={"name": "Stock Symbols"})
    assert dup.status_code == 409
    same_python = client.post(base, json={"name": "stock symbols!"})
    assert same_python.status_code == 409 and "stock_symbols" in same_python.json()["detail"]
    assert client.post(base, json={"name": "???"}).status_code == 422

    url = f"{base}/{lst['id']}/terms"
    assert client.post(url, json={"terms": [{"value": "AAPL"}, {"value": " MSFT ", "comment": "Microsoft"}]}).json() == {
        "added": 2,
        "existing": 0,
    }
    assert client.post(url, json={"terms": [{"value": "  "}]}).status_code == 422
    pasted = client.post(f"{url}/paste", json={"text": "GOOG\nAAPL\n\nTSLA\n"}).json()
    assert pasted == {"added": 2, "existing": 1}
    csv_body = "value,comment,blacklisted\nAMZN,Amazon,false\nGOOG,,true\n"
    imported = client.post(f"{url}/csv", content=csv_body.encode(), headers={"content-type": "text/csv"}).json()
    assert imported == {"added": 1, "existing": 1}
    bad_csv = client.post(f"{url}/csv", content=b"X,,maybe\n", headers={"content-type": "text/csv"})
    assert bad_csv.status_code == 422 and "row 1" in bad_csv.json()["detail"]
    not_utf8 = client.post(f"{url}/csv", content=b"\xff\xfe\x00A", headers={"content-type": "text/csv"})
    assert not_utf8.status_code == 422

    terms = {t["value"]: t for t in client.get(url).json()}
    assert sorted(terms) == ["AAPL", "AMZN", "GOOG", "MSFT", "TSLA"]
    assert terms["MSFT"]["comment"] == "Microsoft" and terms["GOOG"]["blacklisted"] is True
    usable = [t["value"] for t in client.get(url, params={"blacklisted": False}).json()]
    assert usable == ["AAPL", "AMZN", "MSFT", "TSLA"]

    patched = client.patch(f"{url}/{terms['TSLA']['id']}", json={"blacklisted": True, "comment": "car maker"}).json()
    assert patched["blacklisted"] and patched["comment"] == "car maker"
    clash = client.patch(f"{url}/{terms['TSLA']['id']}", json={"value": "AAPL"})
    assert clash.status_code == 409
    assert client.delete(f"{url}/{terms['AAPL']['id']}").status_code == 204
    assert client.delete(f"{url}/{terms['AAPL']['id']}").status_code == 404

    renamed = client.patch(f"{base}/{lst['id']}", json={"name": "Tickers 2"}).json()
    assert renamed["python_name"] == "tickers_2" and renamed["term_count"] == 4
    removed = client.delete(f"{base}/{lst['id']}").json()
    assert removed["removed"]["terms"] == 4
    assert client.get(f"{base}/{lst['id']}").status_code == 404
