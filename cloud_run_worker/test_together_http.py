"""The Together enricher's connections (together_http): proxies and CA roots from the
environment, and connections that are reused only when their answer was read whole."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from enrich_pb2 import REASON_UPSTREAM_UNAVAILABLE
from enrichment import CallLimits, EnrichFailure
from fake_together import GOOD, GOOD_ENRICHMENT, Reply, serve
from together_enricher import MAX_RESPONSE_BYTES, TogetherConfig, TogetherEnricher
from together_http import proxy_for

API_KEY = "test-key-http"
CANDIDATE = {"resume_text": "Backend engineer, 6 years of Go and Postgres."}
# A CA of our own and a certificate it signed for 127.0.0.1 (valid until 2126): the
# provider, or a proxy that re-signs TLS, behind a private CA. Test-only keys.
TESTDATA = Path(__file__).parent / "testdata"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                   "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def unused_loopback_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def enricher_for(base_url: str) -> TogetherEnricher:
    return TogetherEnricher(TogetherConfig(api_key=API_KEY, base_url=base_url,
                                           timeout_seconds=2.0, backoff_seconds=0.01))


def test_calls_go_through_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    target = unused_loopback_url()  # reachable only through the proxy
    with serve(GOOD) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/v1"))
        enricher = enricher_for(target)
        try:
            result = enricher.enrich(CANDIDATE, CallLimits())
        finally:
            enricher.close()
    assert result.result == GOOD_ENRICHMENT
    # A proxy is sent the absolute URL; a server, only the path.
    assert [sent.path for sent in proxy.received] == [f"{target}/chat/completions"]
    assert proxy.received[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_a_proxy_url_with_credentials_sends_them_to_the_proxy_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = unused_loopback_url()
    with serve(GOOD) as proxy:
        address = proxy.base_url.removesuffix("/v1").removeprefix("http://")
        monkeypatch.setenv("HTTP_PROXY", f"http://team%40corp:p%3Ass@{address}")
        enricher = enricher_for(target)
        try:
            enricher.enrich(CANDIDATE, CallLimits())
        finally:
            enricher.close()
    (sent,) = proxy.received
    # user "team@corp", password "p:ss", percent-decoded as httpx and requests do
    assert sent.headers["proxy-authorization"] == "Basic dGVhbUBjb3JwOnA6c3M="
    assert sent.path == f"{target}/chat/completions"


@pytest.mark.parametrize("proxy", ["http://user:s3cret@proxy:99999", "http://user:s3cret@[::1"])
def test_an_unreadable_proxy_url_is_refused_without_repeating_its_password(
    monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    with pytest.raises(ValueError, match="HTTPS_PROXY") as refused:
        enricher_for("https://api.together.xyz/v1")
    assert "s3cret" not in str(refused.value)


def test_no_proxy_sends_calls_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(GOOD) as proxy, serve(GOOD) as provider:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/v1"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        enricher = enricher_for(provider.base_url)
        try:
            enricher.enrich(CANDIDATE, CallLimits())
        finally:
            enricher.close()
    assert proxy.received == []
    assert [sent.path for sent in provider.received] == ["/v1/chat/completions"]


def test_lower_case_proxy_variables_win_as_in_the_standard_library() -> None:
    env = {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128"}
    assert proxy_for("https://api.together.xyz/v1", env) == "http://lower:3128"
    assert proxy_for("https://api.together.xyz/v1", {"ALL_PROXY": "http://all:3128"}) == (
        "http://all:3128")
    assert proxy_for("https://api.together.xyz/v1",
                     {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".together.xyz"}) is None
    assert proxy_for("https://api.together.xyz/v1", {"HTTP_PROXY": "http://p:3128"}) is None


def test_an_unreadable_ca_file_is_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="SSL_CERT_FILE"):
        enricher_for("https://api.together.xyz/v1")


def loopback_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TESTDATA / "loopback.pem", TESTDATA / "loopback.key")
    return context


def test_a_private_ca_named_by_ssl_cert_file_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TESTDATA / "private-ca.pem"))
    with serve(GOOD, tls=loopback_tls()) as provider:
        enricher = enricher_for(provider.base_url)
        try:
            result = enricher.enrich(CANDIDATE, CallLimits())
        finally:
            enricher.close()
    assert provider.base_url.startswith("https://")
    assert result.result == GOOD_ENRICHMENT


def test_without_the_private_ca_the_provider_is_not_trusted() -> None:
    with serve(GOOD, tls=loopback_tls()) as provider:  # certifi's roots only
        enricher = TogetherEnricher(TogetherConfig(
            api_key=API_KEY, base_url=provider.base_url, timeout_seconds=2.0,
            backoff_seconds=0.01, max_retries=0))
        try:
            with pytest.raises(EnrichFailure) as refused:
                enricher.enrich(CANDIDATE, CallLimits())
        finally:
            enricher.close()
        assert provider.received == []  # the key never went out
    assert refused.value.reason == REASON_UPSTREAM_UNAVAILABLE
    # The operator is told why, and what to set.
    assert "certificate not trusted (unable to get local issuer certificate)" in (
        refused.value.message)
    assert "SSL_CERT_FILE" in refused.value.message


def test_a_connection_whose_answer_was_cut_short_is_not_reused() -> None:
    # Past the limit by more than a read, so that some of it is left unread.
    too_large = Reply(200, body="x" * (MAX_RESPONSE_BYTES + 1024 * 1024))
    with serve(too_large, GOOD) as fake:
        enricher = enricher_for(fake.base_url)
        try:
            result = enricher.enrich(CANDIDATE, CallLimits())  # the retry gets GOOD
        finally:
            enricher.close()
    assert result.result == GOOD_ENRICHMENT
    assert result.attempts == 2
    first, second = fake.received
    # The first answer's unread rest would be read as the second's start.
    assert first.client_port != second.client_port
