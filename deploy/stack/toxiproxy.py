"""A small client for the Toxiproxy HTTP API (the server `CHAOS=1 make up` starts).

Proxies of the chaos stack: `kafka` (the sidecars' Kafka traffic) and `postgres` (the apps'
PostgreSQL connections, profile postgres). A toxic degrades one direction of a proxy's traffic:
`downstream` is server to client, `upstream` client to server. Types: latency, bandwidth,
slow_close, timeout, reset_peer, slicer, limit_data (attributes as in Toxiproxy's README).
"""

from __future__ import annotations

from typing import Any

import httpx

TOXIPROXY_PORT = 8474  # Toxiproxy's own default, below the ephemeral port range
TOXIPROXY_API = f"http://127.0.0.1:{TOXIPROXY_PORT}"


class ToxiproxyError(RuntimeError):
    """The Toxiproxy API refused a request (or did not answer)."""


class Toxiproxy:
    def __init__(self, api: str = TOXIPROXY_API) -> None:
        self.api = api.rstrip("/")

    def create_proxy(self, proxy: str, listen: str, upstream: str) -> None:
        """Creates the proxy, or replaces one of the same name (enabled, without toxics)."""
        self._call("DELETE", f"/proxies/{proxy}", proxy, missing_ok=True)
        body = {"name": proxy, "listen": listen, "upstream": upstream, "enabled": True}
        self._call("POST", "/proxies", proxy, json=body)

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,  # noqa: A002 - Toxiproxy's own word for it
        attributes: dict,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> None:
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }
        self._call("POST", f"/proxies/{proxy}/toxics", proxy, json=body)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}", proxy)

    def disable(self, proxy: str) -> None:
        """Closes the proxy's listener and cuts its connections: new ones are refused."""
        self._call("POST", f"/proxies/{proxy}", proxy, json={"enabled": False})

    def enable(self, proxy: str) -> None:
        self._call("POST", f"/proxies/{proxy}", proxy, json={"enabled": True})

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed."""
        self._call("POST", "/reset", "all proxies")

    def proxies(self) -> dict[str, Any]:
        """Every proxy with its settings and toxics, by name."""
        return self._call("GET", "/proxies", "all proxies").json()

    def available(self) -> bool:
        """True if the API answers."""
        try:
            return httpx.get(f"{self.api}/version", timeout=2.0).is_success
        except httpx.HTTPError:
            return False

    def _call(
        self, method: str, path: str, proxy: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = httpx.request(method, f"{self.api}{path}", timeout=10.0, **kwargs)
        except httpx.HTTPError as err:
            raise ToxiproxyError(
                f"Toxiproxy at {self.api} did not answer ({method} {path}, proxy {proxy}): {err}"
            ) from err
        if response.status_code == 404 and missing_ok:
            return response
        if not response.is_success:
            raise ToxiproxyError(
                f"Toxiproxy refused {method} {path} (proxy {proxy}): "
                f"HTTP {response.status_code} {response.text.strip()}"
            )
        return response
