"""`cost catalog refresh` against a loopback Retail Prices API serving recorded pages.

The server (threading http.server on 127.0.0.1) answers one query per serviceName, pages with
``NextPageLink``, and misbehaves on purpose: a 503 and a 429 before succeeding, or forever.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cost.catalog import LocalCatalog
from cost.catalog.refresh import RetailPricesClient, refresh_catalog
from cost.errors import CatalogRefreshError
from dr.cli import main
from tests.cost.conftest import HERE, REPO

PAGES = json.loads((HERE / "fixtures/retail-api/pages.json").read_text())["pages"]


class FakeRetailApi:
    """Serves PAGES; ``faults[service]`` is a list of status codes to answer before the real page."""

    def __init__(self) -> None:
        self.requests: list[dict[str, list[str]]] = []
        self.faults: dict[str, list[int]] = {}
        self.next_link_host: str | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                api.requests.append(query)
                odata = query.get("$filter", [""])[0]
                m = re.search(r"serviceName eq '([^']+)'", odata)
                service = m[1] if m else ""
                faults = api.faults.get(service)
                if faults:
                    status = faults.pop(0)
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                pages = PAGES.get(service, [[]])
                page = int(query.get("$skip", ["0"])[0])
                body = {
                    "BillingCurrency": "USD",
                    "Items": pages[page],
                    "NextPageLink": None,
                    "Count": len(pages[page]),
                }
                if page + 1 < len(pages):
                    host = api.next_link_host or f"127.0.0.1:{api.port}"
                    body["NextPageLink"] = (
                        f"http://{host}/api/retail/prices?api-version=2023-01-01-preview&$filter={odata}&$skip={page + 1}"
                    )
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/retail/prices"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeRetailApi()
    yield server
    server.close()


def _client(api: FakeRetailApi, **kw) -> RetailPricesClient:
    return RetailPricesClient(api.url, backoff=0.01, max_backoff=0.05, **kw)


def test_refresh_follows_pages_retries_5xx_and_429_and_writes_a_loadable_catalog(api, tmp_path):
    api.faults = {"Storage": [503], "Traffic Manager": [429]}
    out = tmp_path / "catalog.json"
    result = refresh_catalog("eastus", out, client=_client(api))
    expected = sum(len(p) for pages in PAGES.values() for p in pages)
    assert result.items == expected and result.retries == 2 and result.queries == 9
    assert result.pages == 9 + 1  # one query has a second page
    catalog = LocalCatalog.load(out)
    d4s = catalog.lookup("vm/eastus/Standard_D4s_v5")
    assert d4s is not None and str(d4s.unit_price) == "0.192"
    assert (
        d4s.provenance.evidence == "retail-api-item-verbatim" and api.url in d4s.provenance.source
    )
    assert (
        catalog.lookup("load-balancer/Global/standard-included-rules") is not None
    )  # queried under Global
    assert catalog.info.version.startswith("api-")
    filters = [q["$filter"][0] for q in api.requests if "$filter" in q]
    assert (
        "serviceName eq 'Load Balancer' and armRegionName eq 'Global' and priceType eq 'Consumption'"
        in filters
    )
    assert all(q.get("currencyCode") == ["'USD'"] for q in api.requests if "$skip" not in q)
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]


def test_currency_is_a_query_parameter(api, tmp_path):
    refresh_catalog(
        "eastus", tmp_path / "eur.json", currency="EUR", client=_client(api, currency="EUR")
    )
    assert api.requests[0]["currencyCode"] == ["'EUR'"]


def test_persistent_5xx_fails_and_leaves_the_old_file(api, tmp_path):
    out = tmp_path / "catalog.json"
    out.write_text("old")
    api.faults = {"Storage": [502] * 10}
    with pytest.raises(CatalogRefreshError, match=r"HTTP 502 after 3 attempts"):
        refresh_catalog("eastus", out, client=_client(api, attempts=3))
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["catalog.json"]


def test_client_errors_are_not_retried(api, tmp_path):
    api.faults = {"Virtual Machines": [400, 400]}
    with pytest.raises(CatalogRefreshError, match="HTTP 400"):
        refresh_catalog("eastus", tmp_path / "c.json", client=_client(api))
    assert len(api.requests) == 1 and not (tmp_path / "c.json").exists()


def test_next_page_link_to_another_origin_is_refused(api, tmp_path):
    api.next_link_host = "evil.example:443"
    with pytest.raises(CatalogRefreshError, match="another origin"):
        refresh_catalog("eastus", tmp_path / "c.json", client=_client(api))


def test_cli_refresh_then_show(api, tmp_path, capsys):
    out = tmp_path / "eastus.json"
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "cost",
                "catalog",
                "refresh",
                "--region",
                "eastus",
                "--api-url",
                api.url,
                "--output",
                str(out),
            ]
        )
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}") and "from 10 pages of 9 queries" in printed
    with pytest.raises(SystemExit) as exit_:
        main(
            ["cost", "catalog", "show", "--json", "--catalog", str(out), "--project-dir", str(REPO)]
        )
    shown = json.loads(capsys.readouterr().out)
    assert exit_.value.code == 0 and shown["catalogs"][0]["source"].startswith(api.url)


def test_cli_refresh_bad_region_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cost", "catalog", "refresh", "--region", "east us;"])
    assert exit_.value.code == 2 and "--region" in capsys.readouterr().err


def test_unreachable_api_fails_cleanly(tmp_path):
    # a port nobody listens on (bound then closed)
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = RetailPricesClient(
        f"http://127.0.0.1:{port}/api/retail/prices", attempts=2, backoff=0.01
    )
    with pytest.raises(CatalogRefreshError, match="ConnectError"):
        refresh_catalog("eastus", tmp_path / "c.json", client=client)
    assert not Path(tmp_path / "c.json").exists()
