"""The HTTPS client of the verify phase: one request, certificates verified, no redirects, bounded body."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from scanner import __version__
from scanner.detect.verifyspec import SECRET, VerifySpec
from scanner.verify.options import VerifyOptions

MAX_BODY = 256 * 1024


_STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"


@dataclass(frozen=True, slots=True)
class Request:
    """One prepared request. Its repr never shows headers (they hold the key)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Response:
    """What came back (body capped at MAX_BODY)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def https_transport(request: Request, timeout: float) -> Response:
    """Send over HTTPS with certificate checks; never follow redirects."""
    import http.client
    import ssl

    parts = urlsplit(request.url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("refusing a non-HTTPS verification request")
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                                       context=ssl.create_default_context())
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request(request.method, path, body=request.body, headers=dict(request.headers))
        resp = conn.getresponse()
        body = resp.read(MAX_BODY)
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def target_url(spec: VerifySpec, options: VerifyOptions) -> str | None:
    """The URL to call: the rule's host, or the user's host for {host} rules; the test override last."""
    url = spec.url
    if spec.host:
        host = options.hosts.get(spec.host)
        if host is None:
            return None
        url = url.replace("{host}", host, 1)
    parts = urlsplit(url)
    base = options.overrides.get((parts.hostname or "").lower()) or options.overrides.get(parts.netloc.lower())
    if base:
        parts = parts._replace(netloc=urlsplit(base).netloc)
    return urlunsplit(parts)


def build_request(spec: VerifySpec, url: str, secret: str) -> Request:
    """Fill ``{secret}`` into the rule's headers (or basic auth)."""
    headers = [(k, v.replace(SECRET, secret)) for k, v in spec.headers]
    if spec.basic_auth is not None:
        user, pw = (p.replace(SECRET, secret) for p in spec.basic_auth)
        headers.append(("Authorization", "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()))
    names = {k.lower() for k, _ in headers}
    if "user-agent" not in names:
        headers.append(("User-Agent", f"credsweep/{__version__} (+key verification)"))
    if "accept" not in names:
        headers.append(("Accept", "application/json"))
    return Request(spec.method, url, tuple(headers), b"" if spec.method == "POST" else None)


def sts_request(url: str, key_id: str, secret_key: str) -> Request:
    """A SigV4-signed STS GetCallerIdentity request (botocore imported here, only when needed)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data=_STS_BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret_key), "sts", "us-east-1").add_auth(req)
    headers = [(k, str(v)) for k, v in req.headers.items()]
    headers.append(("User-Agent", f"credsweep/{__version__} (+key verification)"))
    return Request("POST", url, tuple(headers), _STS_BODY.encode())
