"""What every AWS collector shares: the client factory, coverage bookkeeping and fault classification.

A fault on one service in one region becomes a ``Skip(source="aws", target="service/region", reason=...)`` and the
scan goes on. Only faults that make every call fail (no credentials, endpoint unreachable) stop the scan, as an
``AwsSourceError`` (exit code 4). Skip details carry the operation and the error code, never a response message,
so no value can reach them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scanner.errors import AwsSourceError
from scanner.model import Skip
from scanner.sources.aws.classify import Classifier

SOURCE = "aws"
GLOBAL = "global"

ACCESS_DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError",
    "AuthorizationErrorException", "NotAuthorized", "Forbidden", "403",
})
NOT_SUPPORTED = frozenset({
    "NotImplemented", "NotImplementedException", "InvalidAction", "UnknownOperationException",
    "UnsupportedOperation", "UnsupportedOperationException", "404", "501",
})
REGION_UNAVAILABLE = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired"})
CREDENTIALS_REJECTED = frozenset({"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
                                  "ExpiredTokenException", "InvalidAccessKeyId", "UnrecognizedClientException"})
NOT_FOUND = frozenset({"ResourceNotFoundException", "NoSuchEntity", "ParameterNotFound", "NotFoundException"})
THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})

Clients = Callable[[str, str], Any]  # (service, region) -> botocore client


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status:
            return str(status)
    return None


def fault(exc: BaseException) -> tuple[str, str] | None:
    """(reason, detail) for a recoverable fault; None when ``exc`` is not an AWS fault at all.

    Raises AwsSourceError for faults that make every call fail.
    """
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError):
        raise AwsSourceError("no usable AWS credentials: set --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY, or run with an instance/task role") from None
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return "unreachable", f"cannot connect to the endpoint ({exc.__class__.__name__})"
    if isinstance(exc, bx.ReadTimeoutError):
        return "timeout", "the endpoint did not answer in time"
    if isinstance(exc, ResponseParserError):
        # moto answers an unimplemented action with an HTML 500 page; real endpoints do not do this
        return "not-supported", "the endpoint returned a response that is not an AWS API response (not implemented?)"
    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or "unknown"
        op = getattr(exc, "operation_name", "") or "call"
        if code in ACCESS_DENIED:
            return "access-denied", f"{op} denied ({code})"
        if code in NOT_SUPPORTED:
            return "not-supported", f"{op} is not supported by this endpoint ({code})"
        if code in REGION_UNAVAILABLE:
            return "region-unavailable", f"{op} rejected in this region ({code}); is the region enabled?"
        if code in NOT_FOUND:
            return "not-found", f"{op}: the resource or its current value no longer exists ({code})"
        if code in THROTTLED:
            return "throttled", f"{op} still throttled after adaptive retries ({code})"
        return "error", f"{op} failed ({code})"
    if isinstance(exc, bx.BotoCoreError):
        return "error", exc.__class__.__name__
    return None


@dataclass(slots=True)
class Coverage:
    """What was scanned and what was skipped, across every service and region."""

    skipped: list[Skip] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def guard(self, service: str, region: str, what: str = "") -> Iterator[None]:
        """Run a block; an AWS fault inside it becomes a Skip for ``service/region`` and is not raised."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - classified below; anything else is re-raised
            classified = fault(exc)
            if classified is None:
                raise
            reason, detail = classified
            if what and not detail.startswith(what.split(" ", 1)[0]):
                detail = f"{what}: {detail}"
            self.skip(service, region, reason, detail)

    def skip(self, service: str, region: str, reason: str, detail: str) -> None:
        """Record a gap once per (target, reason, detail)."""
        s = Skip(source=SOURCE, target=f"{service}/{region}", reason=reason, detail=detail)
        if s not in self.skipped:
            self.skipped.append(s)

    def done(self, service: str, region: str) -> None:
        """A service listing in a region completed."""
        self.scanned.append(f"{service}/{region}")


@dataclass(slots=True, kw_only=True)
class AwsContext:
    """Everything a collector needs; passed in, never global."""

    clients: Clients
    classifier: Classifier
    coverage: Coverage
    read_values: bool = False
    account: str | None = None
    partition: str = "aws"


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` across all pages (botocore paginator)."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key) or ()


def as_datetime(value: Any) -> datetime | None:
    """A botocore timestamp (datetime, ISO string or epoch seconds) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        # Lambda's LastModified is "2024-01-01T00:00:00.000+0000"
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        try:
            return as_datetime(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


OWNER_TAGS = ("owner", "owner-email", "owner_email", "team", "contact")


def owner_from_tags(tags: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None) -> str | None:
    """The owner recorded in AWS tags (``owner``, ``team``, ``contact``; any case), if any."""
    if not tags:
        return None
    if isinstance(tags, Mapping):
        pairs = {str(k).lower(): str(v) for k, v in tags.items()}
    else:
        pairs = {str(t.get("Key", t.get("key", ""))).lower(): str(t.get("Value", t.get("value", ""))) for t in tags}
    for key in OWNER_TAGS:
        if pairs.get(key):
            return pairs[key]
    return None


def attrs(**values: Any) -> tuple[tuple[str, str], ...]:
    """Credential attributes from keyword arguments, dropping empty values."""
    return tuple((k, str(v)) for k, v in values.items() if v is not None and v != "")
