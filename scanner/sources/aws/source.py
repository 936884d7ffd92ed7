"""AWS as a credential source: Secrets Manager, Parameter Store, IAM access keys, Bedrock API keys, Lambda and
ECS environments. Read-only; see docs/aws.md for every call made and deploy/aws/ for the IAM policy.

``connect(options)`` builds a client factory from the standard credential chain and SDK configuration (profiles,
``AWS_ENDPOINT_URL``, ...), optionally assuming a role; ``AwsSource(clients, regions, ...)`` scans with it. Tests
pass a factory pointed at a moto server on 127.0.0.1; nothing here is mocked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner import __version__
from scanner.errors import AwsSourceError, UsageError
from scanner.model import Credential
from scanner.redact import SecretHasher
from scanner.sources.aws import compute as aws_compute
from scanner.sources.aws import iam as aws_iam
from scanner.sources.aws import stores as aws_stores
from scanner.sources.aws.classify import Classifier
from scanner.sources.aws.session import (
    CREDENTIALS_REJECTED,
    GLOBAL,
    AwsContext,
    Clients,
    Coverage,
    error_code,
)
from scanner.sources.base import CredentialResult
from scanner.sources.blob import BlobScanner

SERVICES = ("secretsmanager", "ssm", "iam", "bedrock", "lambda", "ecs")
REGIONAL = ("secretsmanager", "ssm", "lambda", "ecs")
DEFAULT_REGION = "us-east-1"
ALL_REGIONS = "all"


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsOptions:
    """How to reach AWS and what to read."""

    profile: str | None = None
    regions: tuple[str, ...] = ()  # empty: the configured default region; ("all",): every enabled region
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str = "credsweep"
    read_values: bool = False
    services: tuple[str, ...] = SERVICES
    max_attempts: int = 8


@dataclass(slots=True)
class ClientFactory:
    """botocore clients by (service, region), built once each, all with adaptive retries."""

    session: Any
    config: Any
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._cache:
            name = DEFAULT_REGION if region == GLOBAL else region
            self._cache[key] = self.session.client(service, region_name=name, config=self.config)
        return self._cache[key]

    @property
    def default_region(self) -> str | None:
        """The region the SDK configuration names, if any."""
        region = self.session.region_name
        return str(region) if region else None


def client_config(max_attempts: int, *, connect_timeout: float = 10, read_timeout: float = 60) -> Any:
    """botocore Config: adaptive retry mode (client-side rate limiting on throttling) and bounded timeouts."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": max_attempts},
                  user_agent_extra=f"credsweep/{__version__}", connect_timeout=connect_timeout,
                  read_timeout=read_timeout)


def connect(options: AwsOptions) -> ClientFactory:
    """A client factory from the standard chain (env, profile, SSO, role); assumes ``role_arn`` when given."""
    import boto3
    from botocore import exceptions as bx

    try:
        session = boto3.Session(profile_name=options.profile)
    except bx.ProfileNotFound:
        raise UsageError(f"AWS profile {options.profile!r} is not configured") from None
    config = client_config(options.max_attempts)
    if options.role_arn:
        sts = session.client("sts", region_name=session.region_name or DEFAULT_REGION, config=config)
        kwargs: dict[str, Any] = {"RoleArn": options.role_arn, "RoleSessionName": options.role_session_name}
        if options.external_id:
            kwargs["ExternalId"] = options.external_id
        try:
            creds = sts.assume_role(**kwargs)["Credentials"]
        except bx.ClientError as exc:
            raise AwsSourceError(f"cannot assume role {options.role_arn}: {error_code(exc)}") from None
        except (bx.NoCredentialsError, bx.EndpointConnectionError) as exc:
            raise AwsSourceError(f"cannot assume role {options.role_arn}: {_describe(exc)}") from None
        session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"], region_name=session.region_name)
    return ClientFactory(session, config)


def _describe(exc: BaseException) -> str:
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError):
        return "no AWS credentials found"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot connect to {getattr(exc, 'kwargs', {}).get('endpoint_url', 'the endpoint')}"
    return exc.__class__.__name__


def identity(clients: Clients, region: str, coverage: Coverage) -> tuple[str | None, str]:
    """(account id, partition) of the caller. Fails fast when nothing can work: no credentials, no endpoint."""
    from botocore import exceptions as bx

    factory = clients if isinstance(clients, ClientFactory) else None
    sts = (factory.session.client("sts", region_name=region, config=client_config(2, connect_timeout=5))
           if factory else clients("sts", region))
    try:
        who = sts.get_caller_identity()
    except bx.NoCredentialsError:
        raise AwsSourceError("no AWS credentials found: set --profile or AWS_PROFILE, AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY, or run with an instance or task role") from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        raise AwsSourceError(f"AWS is unreachable: {_describe(exc)}") from None
    except bx.ClientError as exc:
        code = error_code(exc) or "unknown"
        if code in CREDENTIALS_REJECTED:
            raise AwsSourceError(f"AWS rejected the credentials ({code})") from None
        coverage.notes.append(f"aws: sts:GetCallerIdentity failed ({code}); account id unknown")
        return None, "aws"
    arn = str(who.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
    return str(who.get("Account") or "") or None, partition


def resolve_regions(clients: ClientFactory, requested: Sequence[str], coverage: Coverage) -> tuple[str, ...]:
    """The regions to scan: as given, the SDK default, or every enabled region for ``all``."""
    wanted = [r for part in requested for r in part.split(",") if r.strip()]
    if not wanted:
        return (clients.default_region or DEFAULT_REGION,)
    if ALL_REGIONS not in wanted:
        return tuple(dict.fromkeys(r.strip() for r in wanted))
    home = clients.default_region or DEFAULT_REGION
    regions: list[str] = []
    with coverage.guard("ec2", home, "DescribeRegions"):
        regions = [str(r["RegionName"]) for r in clients("ec2", home).describe_regions()["Regions"]
                   if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"]
    if not regions:
        with coverage.guard("account", GLOBAL, "ListRegions"):
            from scanner.sources.aws.session import paginate

            regions = [str(r["RegionName"]) for r in paginate(
                clients("account", home), "list_regions", "Regions",
                RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"])]
    if not regions:
        regions = sorted(clients.session.get_available_regions("secretsmanager"))
        coverage.notes.append("aws: could not list enabled regions; scanned every region the SDK knows")
    return tuple(sorted(set(regions)))


Collector = Callable[[AwsContext, str], Iterator[Credential]]
_REGIONAL: dict[str, Collector] = {
    "secretsmanager": aws_stores.secrets,
    "ssm": aws_stores.parameters,
    "lambda": aws_compute.lambda_env,
    "ecs": aws_compute.ecs_env,
}


class AwsSource:
    """Inventory of AWS-held credentials across services and regions."""

    name = "aws"

    def __init__(self, clients: Clients, regions: Iterable[str], *, read_values: bool = False,
                 services: Iterable[str] = SERVICES, account: str | None = None, partition: str = "aws",
                 coverage: Coverage | None = None) -> None:
        self.clients = clients
        self.regions = tuple(regions)
        self.read_values = read_values
        self.services = tuple(services)
        self.account = account
        self.partition = partition
        self.coverage = coverage or Coverage()

    def scan(self, scanner: BlobScanner, hasher: SecretHasher) -> CredentialResult:
        """List every credential the services hold; faults become Skips."""
        ctx = AwsContext(clients=self.clients, classifier=Classifier(scanner, hasher), coverage=self.coverage,
                         read_values=self.read_values, account=self.account, partition=self.partition)
        creds: list[Credential] = []
        if "iam" in self.services or "bedrock" in self.services:
            creds.extend(aws_iam.iam_credentials(ctx, access_keys="iam" in self.services,
                                                 bedrock="bedrock" in self.services))
        for region in self.regions:
            for service in REGIONAL:
                if service in self.services:
                    creds.extend(_REGIONAL[service](ctx, region))
        cov = self.coverage
        notes = list(cov.notes)
        if not self.read_values:
            notes.append("aws: values were not read (use --read-values to classify Secrets Manager and "
                         "Parameter Store values)")
        return CredentialResult(credentials=tuple(_unique(creds)), skipped=tuple(cov.skipped), notes=tuple(notes),
                                scanned_anything=bool(cov.scanned))


def _unique(creds: Iterable[Credential]) -> Iterator[Credential]:
    seen: set[str] = set()
    for c in creds:
        if c.id not in seen:
            seen.add(c.id)
            yield c


def scan_account(options: AwsOptions, scanner: BlobScanner, hasher: SecretHasher,
                 clients: ClientFactory | None = None) -> tuple[CredentialResult, str]:
    """Connect, check the identity, resolve regions and scan: what ``scan aws`` (and ``scan all``) run.

    Returns the result (credentials, skips, notes; no violations: run ``scanner.hygiene.checks.aws.evaluate`` on the
    credentials, together with other sources' for DUPLICATED across stores) and a target label for the report.
    Raises AwsSourceError (exit 4) when nothing can work.
    """
    coverage = Coverage()
    clients = clients or connect(options)
    account, partition = identity(clients, clients.default_region or DEFAULT_REGION, coverage)
    regions = resolve_regions(clients, options.regions, coverage)
    source = AwsSource(clients, regions, read_values=options.read_values, services=options.services,
                       account=account, partition=partition, coverage=coverage)
    where = ",".join(regions) if len(regions) <= 4 else f"{len(regions)} regions"
    return source.scan(scanner, hasher), f"aws:{account or 'unknown-account'}:{where}"
