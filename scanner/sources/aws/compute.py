"""Lambda functions and ECS task definitions: credentials in plain-text environment variables.

Calls (read-only): lambda ListFunctions (paginated; it returns each function's environment) and ListTags for
functions holding a credential; ecs ListTaskDefinitions (paginated, ACTIVE revisions) and DescribeTaskDefinition
(with tags). Environment values are classified with the rules and kept as keyed hash and redacted preview;
variables that only reference a store (ECS ``secrets``/``valueFrom``) are good practice and are not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from scanner.model import Credential
from scanner.sources.aws.session import AwsContext, as_datetime, attrs, owner_from_tags, paginate

LAMBDA = "lambda"
ECS = "ecs"


def _env_credentials(ctx: AwsContext, *, store: str, resource: str, label: str, env: Mapping[str, str],
                     owner: str | None, region: str, **extra: Any) -> list[Credential]:
    out = []
    for var, value in env.items():
        for c in ctx.classifier.classify(str(value), name=str(var), where=resource):
            out.append(Credential(
                id=f"{resource}#env:{var}" + (f".{c.key_path}" if c.key_path and c.key_path != var else ""),
                source="aws",
                store=store,
                location=f"{label} env {var}",
                provider=c.provider,
                kind=c.kind,
                rule_id=c.rule_id,
                secret_hash=c.secret_hash,
                redacted=c.redacted,
                owner=owner,
                status="active",
                attributes=attrs(region=region, variable=var, rule_severity=c.severity, category=c.category,
                                 **extra),
            ))
    return out


def lambda_env(ctx: AwsContext, region: str) -> Iterator[Credential]:
    """Model keys in Lambda environment variables of one region."""
    client = ctx.clients(LAMBDA, region)
    functions: list[Mapping[str, Any]] = []
    with ctx.coverage.guard(LAMBDA, region, "ListFunctions"):
        functions = list(paginate(client, "list_functions", "Functions"))
        ctx.coverage.done(LAMBDA, region)
    for fn in functions:
        env = (fn.get("Environment") or {}).get("Variables") or {}
        if not env:
            continue
        arn = str(fn.get("FunctionArn") or fn.get("FunctionName"))
        found = _env_credentials(ctx, store="aws-lambda-env", resource=arn, label=f"lambda {fn.get('FunctionName')}",
                                 env=env, owner=None, region=region, function=fn.get("FunctionName"),
                                 modified=_iso(fn.get("LastModified")), kms_key=fn.get("KMSKeyArn"))
        if not found:
            continue
        owner = None
        with ctx.coverage.guard(LAMBDA, region, "ListTags"):
            owner = owner_from_tags(client.list_tags(Resource=arn).get("Tags"))
        if owner:
            found = [replace(c, owner=owner) for c in found]
        yield from found


def ecs_env(ctx: AwsContext, region: str) -> Iterator[Credential]:
    """Model keys in the container environments of active ECS task definition revisions of one region."""
    client = ctx.clients(ECS, region)
    arns: list[str] = []
    with ctx.coverage.guard(ECS, region, "ListTaskDefinitions"):
        arns = [str(a) for a in paginate(client, "list_task_definitions", "taskDefinitionArns", status="ACTIVE")]
        ctx.coverage.done(ECS, region)
    for arn in arns:
        resp: Mapping[str, Any] = {}
        with ctx.coverage.guard(ECS, region, "DescribeTaskDefinition"):
            resp = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        td = resp.get("taskDefinition") or {}
        owner = owner_from_tags(resp.get("tags"))
        family = f"{td.get('family')}:{td.get('revision')}"
        for container in td.get("containerDefinitions") or ():
            env = {str(e.get("name")): str(e.get("value", "")) for e in container.get("environment") or ()
                   if e.get("name")}
            cname = str(container.get("name"))
            yield from _env_credentials(ctx, store="aws-ecs-env", resource=f"{arn}/{cname}",
                                        label=f"ecs task {family} container {cname}", env=env, owner=owner,
                                        region=region, task_definition=family, container=cname,
                                        registered=_iso(td.get("registeredAt")))


def _iso(value: Any) -> str | None:
    dt = as_datetime(value)
    return dt.isoformat() if dt else None
