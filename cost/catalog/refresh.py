"""Refresh the catalog from the Azure Retail Prices API (``hybridops cost catalog refresh``).

API: https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices
(unauthenticated GET, OData ``$filter`` on fields such as ``serviceName``, ``armRegionName`` and
``priceType``; values are case-sensitive from api-version 2023-01-01-preview; results are paged
and the body's ``NextPageLink`` is the next page's URL, null on the last; ``currencyCode='EUR'`` as
a query parameter selects the currency).

One query per service we map, for the region (and ``Global`` for services published only there:
Load Balancer, Traffic Manager). 5xx, 429 and transport errors are retried with exponential
backoff (honouring ``Retry-After``); anything else fails at once. The new snapshot is written only
when every page of every query was read, and atomically: a failed refresh leaves the old file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from cost.atomic import write_json_atomic
from cost.catalog.local import CATALOG_FORMAT, CATALOG_FORMAT_VERSION, LocalCatalog
from cost.errors import CatalogRefreshError
from cost.money import HOURS_PER_MONTH

DEFAULT_API_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"

SERVICES: tuple[tuple[str, bool], ...] = (
    # (serviceName, published only under Global)
    ("Virtual Machines", False),
    ("Azure Kubernetes Service", False),
    ("Storage", False),
    ("Bandwidth", False),
    ("Virtual Network", False),
    ("VPN Gateway", False),
    ("Key Vault", False),
    ("Load Balancer", True),
    ("Traffic Manager", True),
)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RefreshResult:
    path: Path
    items: int
    pages: int
    queries: int
    retries: int
    indexed: int


class RetailPricesClient:
    """Reads every page of a Retail Prices query, retrying what is worth retrying."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        currency: str = "USD",
        http: httpx.Client | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        timeout: float = 60.0,
    ) -> None:
        self.api_url = api_url
        self.currency = currency
        self.http = http or httpx.Client(
            timeout=timeout, headers={"User-Agent": "hybridops-cost-catalog-refresh"}
        )
        self.attempts = attempts
        self._wait = wait_exponential(multiplier=backoff, max=max_backoff)
        self.pages = 0
        self.retries = 0
        origin = urlsplit(api_url)
        self._origin = (origin.scheme, origin.netloc)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RetailPricesClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sleep_for(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = float(self._wait(state))
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return max(backoff, exc.retry_after)
        return backoff

    def _get(self, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            try:
                response = self.http.get(url, params=params)
            except httpx.TransportError as exc:
                raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
            if response.status_code != 200:
                raise CatalogRefreshError(
                    f"{response.url}: HTTP {response.status_code}: {response.text[:200]}"
                )
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise CatalogRefreshError(f"{response.url}: response is not JSON") from None
            if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
                raise CatalogRefreshError(f"{response.url}: response has no 'Items' list")
            return body

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._sleep_for,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            result: dict[str, Any] = retrying(once)
        except _Retryable as exc:
            raise CatalogRefreshError(f"{url}: {exc} after {self.attempts} attempts") from None
        self.pages += 1
        return result

    def query(self, odata_filter: str) -> Iterator[dict[str, Any]]:
        params: dict[str, str] | None = {
            "api-version": API_VERSION,
            "currencyCode": f"'{self.currency}'",
            "$filter": odata_filter,
        }
        url = self.api_url
        seen: set[str] = set()
        while True:
            body = self._get(url, params)
            for item in body["Items"]:
                if isinstance(item, dict):
                    yield item
            link = body.get("NextPageLink")
            if not link:
                return
            parts = urlsplit(str(link))
            if (parts.scheme, parts.netloc) != self._origin:
                raise CatalogRefreshError(
                    f"{url}: refusing to follow NextPageLink to another origin ({link})"
                )
            if link in seen:
                raise CatalogRefreshError(f"{url}: NextPageLink loops back to {link}")
            seen.add(str(link))
            url, params = str(link), None  # the link carries the query and the skip token


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def filters(region: str) -> list[str]:
    out = []
    for service, global_only in SERVICES:
        where = "Global" if global_only else region
        out.append(
            f"serviceName eq '{service}' and armRegionName eq '{where}' and priceType eq 'Consumption'"
        )
    return out


def refresh_catalog(
    region: str,
    output: Path,
    *,
    currency: str = "USD",
    client: RetailPricesClient | None = None,
    now: datetime | None = None,
) -> RefreshResult:
    """Fetch the region's prices and write a new catalog file at ``output`` (atomically)."""
    if client is None:
        with RetailPricesClient(currency=currency) as own:
            return refresh_catalog(region, output, currency=currency, client=own, now=now)
    fetched = (now or datetime.now(UTC)).replace(microsecond=0)
    stamp = fetched.strftime("%Y-%m-%dT%H:%M:%SZ")
    items: list[dict[str, Any]] = []
    queries = filters(region)
    for odata in queries:
        for item in client.query(odata):
            stamped = dict(item)
            stamped.setdefault("source", f"retail-prices-api {client.api_url} $filter={odata}")
            stamped.setdefault("sourceDate", stamp[:10])
            stamped.setdefault("evidence", "retail-api-item-verbatim")
            stamped.setdefault("confidence", "high")
            items.append(stamped)
    if not items:
        raise CatalogRefreshError(
            f"{client.api_url}: no prices returned for region {region!r}; nothing written"
        )
    doc = {
        "format": CATALOG_FORMAT,
        "format_version": CATALOG_FORMAT_VERSION,
        "name": "azure-retail-prices",
        "version": f"api-{stamp}",
        "currency": currency,
        "collected": stamp[:10],
        "source": f"{client.api_url} (api-version {API_VERSION}, {len(queries)} queries)",
        "regions": sorted({region, "Global"}),
        "hours_per_month": int(HOURS_PER_MONTH),
        "notes": [
            f"refreshed by hybridops cost catalog refresh --region {region} --currency {currency}"
        ],
        "items": items,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    catalog = LocalCatalog.from_bytes(
        text.encode(), origin=str(output)
    )  # never write what we cannot read
    write_json_atomic(output, text)
    return RefreshResult(
        path=output,
        items=len(items),
        pages=client.pages,
        queries=len(queries),
        retries=client.retries,
        indexed=catalog.info.indexed,
    )
