"""The Together enricher's HTTP connections: one urllib3 pool per process.

urllib3 rather than httpx: on the LLM path every call crosses the plugin once each way,
and httpx's request and response models cost about 0.6 ms more a call than urllib3's on
this path (``make bench``'s llm mode, same run, 300 jobs: overhead p50 5.07 → 4.43 ms with
one instance, 5.22 → 4.62 ms with two). The pool is thread-safe, so the gRPC server's
worker threads share its kept-alive connections.

What httpx read from the environment is read here, so LLM calls still work behind a
corporate proxy and with a private CA (README, "Configuration"): ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY`` (either case, the standard library's
reading; a proxy URL's credentials go to the proxy), and ``SSL_CERT_FILE``,
``SSL_CERT_DIR`` or ``REQUESTS_CA_BUNDLE``; without those, certifi's roots, as httpx used.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import unquote

import certifi
import urllib3
from urllib3.util import parse_url

# Kept-alive connections per host: more than the calls a plugin process holds at once
# (the host's cap is ENRICH_PLUGIN_CONCURRENCY); a call past it gets a connection of its
# own, closed after use.
MAX_KEPT_CONNECTIONS = 128


def new_pool(url: str, headers: Mapping[str, str], env: Mapping[str, str] | None = None
             ) -> urllib3.PoolManager:
    """A pool for requests to ``url``'s host, through the proxy the environment names for
    it, if any, sending ``headers`` on every request. Nothing is retried or redirected
    here: the enricher decides about every answer."""
    env = os.environ if env is None else env
    common = {
        "headers": dict(headers),
        "maxsize": MAX_KEPT_CONNECTIONS,
        "retries": False,
        "ssl_context": _ssl_context(env),
    }
    proxy = proxy_for(url, env)
    if proxy is None:
        return urllib3.PoolManager(**common)
    # urllib3 sends no credentials of its own for a proxy URL's user:password (httpx and
    # requests did): they go in Proxy-Authorization, and the URL is given without them.
    parsed = parse_url(proxy)
    proxy_headers = None
    if parsed.auth:
        proxy_headers = urllib3.make_headers(proxy_basic_auth=unquote(parsed.auth))
        proxy = parsed._replace(auth=None).url
    # The proxy's own TLS, for an https:// proxy, trusts the same roots as the provider's.
    return urllib3.ProxyManager(proxy, proxy_headers=proxy_headers,
                                proxy_ssl_context=common["ssl_context"], **common)


def proxy_for(url: str, env: Mapping[str, str]) -> str | None:
    """The proxy URL the environment names for ``url``, or None to connect directly."""
    proxies = _environment_proxies(env)
    parsed = parse_url(url)
    proxy = proxies.get(parsed.scheme or "") or proxies.get("all")
    if not proxy:
        return None
    host = parsed.host or ""
    if parsed.port:
        host = f"{host}:{parsed.port}"
    if urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxy


def _environment_proxies(env: Mapping[str, str]) -> dict[str, str]:
    """``<scheme>_proxy`` and ``no_proxy`` from env, lower case winning, as the standard
    library reads os.environ (urllib.request.getproxies_environment)."""
    proxies: dict[str, str] = {}
    for upper_first in (True, False):
        for name, value in env.items():
            key = name.lower()
            if (name.isupper() is upper_first) and key.endswith("_proxy") and value:
                proxies[key[: -len("_proxy")]] = value
    return proxies


def _ssl_context(env: Mapping[str, str]) -> ssl.SSLContext:
    cafile = env.get("SSL_CERT_FILE") or env.get("REQUESTS_CA_BUNDLE") or None
    capath = env.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        cafile = certifi.where()
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            "cannot read the CA certificates (SSL_CERT_FILE, SSL_CERT_DIR, "
            f"REQUESTS_CA_BUNDLE): {exc}"
        ) from exc
