"""Organisation listings from code hosts: every repository of a GitHub organisation or a GitLab group, through the
hosts' REST APIs, with pagination and rate-limit backoff.

The token comes from the environment only (``GITHUB_TOKEN`` / ``GH_TOKEN``, ``GITLAB_TOKEN``), is sent only to the
API host (``GITHUB_API_URL`` / ``GITLAB_API_URL``, default the public hosts; HTTPS, or plain HTTP to a loopback
address for tests) and never appears in any output. Clone URLs are listed without credentials: cloning uses git's
own credential helpers.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from scanner.errors import GitSourceError, UsageError
from scanner.sources.git.mirror import RepoSpec

MAX_PAGES = 1000
MAX_WAIT = 60.0  # seconds: a host asking for a longer pause fails the listing instead of stalling the run


def parse_org(text: str) -> tuple[str, str]:
    """``github:NAME`` or ``gitlab:GROUP`` (a GitLab group path may hold slashes)."""
    host, _, name = text.partition(":")
    if host not in ("github", "gitlab") or not re.fullmatch(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", name or ""):
        raise UsageError(f"--org {text!r}: give github:ORGANISATION or gitlab:GROUP")
    return host, name


def _api_base(env: Mapping[str, str], host: str) -> str:
    default = "https://api.github.com" if host == "github" else "https://gitlab.com/api/v4"
    base = (env.get("GITHUB_API_URL") if host == "github" else env.get("GITLAB_API_URL")) or default
    parts = urllib.parse.urlsplit(base)
    loopback = False
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise UsageError(f"{'GITHUB' if host == 'github' else 'GITLAB'}_API_URL must be an https:// URL")
    return base.rstrip("/")


def _token(env: Mapping[str, str], host: str) -> str | None:
    if host == "github":
        return env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or None
    return env.get("GITLAB_TOKEN") or None


def _get(url: str, headers: dict[str, str], what: str, timeout: float) -> tuple[Any, Mapping[str, str]]:
    """One GET with backoff on rate limits (429, or 403 with no remaining quota) and on 5xx answers."""
    for attempt in range(6):
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 - https or loopback only (_api_base)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                return json.loads(resp.read(16 << 20)), resp.headers
        except urllib.error.HTTPError as exc:
            limited = exc.code == 429 or (exc.code == 403 and exc.headers.get("x-ratelimit-remaining") == "0")
            if (limited or exc.code >= 500) and attempt < 5:
                time.sleep(_wait(exc.headers, attempt))
                continue
            if exc.code in (401, 403):
                raise GitSourceError(f"{what}: access denied (HTTP {exc.code}); check the token's scopes") from None
            if exc.code == 404:
                raise GitSourceError(f"{what}: not found (HTTP 404)") from None
            raise GitSourceError(f"{what}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitSourceError(f"{what}: cannot reach the API: {reason}") from None
        except json.JSONDecodeError:
            raise GitSourceError(f"{what}: the API did not answer with JSON") from None
    raise GitSourceError(f"{what}: still rate-limited after 6 attempts")


def _wait(headers: Any, attempt: int) -> float:
    retry = headers.get("retry-after")
    if retry and retry.isdigit():
        wait = float(retry)
    elif headers.get("x-ratelimit-reset", "").isdigit():
        wait = float(headers["x-ratelimit-reset"]) - time.time()
    else:
        wait = 0.5 * 2 ** attempt
    if wait > MAX_WAIT:
        raise GitSourceError(f"the API asks to wait {wait:.0f} s (rate limit); run again later")
    return max(0.0, wait)


def _next_link(headers: Mapping[str, str]) -> str | None:
    for part in (headers.get("link") or "").split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if m:
            return m.group(1)
    return None


def list_repositories(org: str, env: Mapping[str, str] | None = None, *, include_archived: bool = False,
                      include_forks: bool = False, timeout: float = 30.0) -> list[RepoSpec]:
    """Every repository of ``github:NAME`` or ``gitlab:GROUP`` (subgroups included), as clone specs."""
    host, name = parse_org(org)
    env = os.environ if env is None else env
    base = _api_base(env, host)
    headers = {"User-Agent": "credsweep", "Accept": "application/json"}
    token = _token(env, host)
    if token:
        headers["Authorization" if host == "github" else "PRIVATE-TOKEN"] = (
            f"Bearer {token}" if host == "github" else token)
    if host == "github":
        url: str | None = f"{base}/orgs/{urllib.parse.quote(name)}/repos?per_page=100&type=all"
    else:
        url = (f"{base}/groups/{urllib.parse.quote(name, safe='')}/projects?per_page=100&include_subgroups=true"
               "&order_by=id&sort=asc")
    out: list[RepoSpec] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page, resp_headers = _get(url, headers, f"--org {org}", timeout)
        if not isinstance(page, list):
            raise GitSourceError(f"--org {org}: unexpected answer from the API (not a list of repositories)")
        out.extend(_specs(page, host, include_archived, include_forks))
        url = _next_link(resp_headers)
        if url is not None and urllib.parse.urlsplit(url).netloc != urllib.parse.urlsplit(base).netloc:
            raise GitSourceError(f"--org {org}: the API pointed the next page at another host; refused")
    return out


def _specs(page: list[Any], host: str, include_archived: bool, include_forks: bool) -> Iterator[RepoSpec]:
    for item in page:
        if not isinstance(item, dict):
            continue
        if item.get("archived") and not include_archived:
            continue
        fork = item.get("fork") if host == "github" else item.get("forked_from_project") is not None
        if fork and not include_forks:
            continue
        clone = item.get("clone_url") if host == "github" else item.get("http_url_to_repo")
        name = item.get("full_name") if host == "github" else item.get("path_with_namespace")
        if isinstance(clone, str) and isinstance(name, str) and clone.startswith(("https://", "http://")):
            parts = urllib.parse.urlsplit(clone)
            netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
            bare = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
            yield RepoSpec(name=f"{host}:{name}", url=bare)
