"""Secrets Manager and Parameter Store: metadata always, values only with ``--read-values``.

Calls (all read-only): secretsmanager ListSecrets (paginated; it returns the same metadata DescribeSecret does)
and, with values, GetSecretValue; ssm DescribeParameters (paginated), ListTagsForResource for parameters that
look like credentials and, with values, GetParameters with decryption (batches of 10).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from scanner.model import Credential
from scanner.sources.aws.classify import Classified, looks_secret
from scanner.sources.aws.session import AwsContext, as_datetime, attrs, owner_from_tags, paginate

SM = "secretsmanager"
SSM = "ssm"
_RATE = re.compile(r"rate\((\d+)\s+days?\)")


def _with_value(base: Credential, found: list[Classified], whole_hash: str | None, whole_preview: str | None
                ) -> list[Credential]:
    """One credential per recognised secret (the first keeps the store id), else one with the whole value."""
    if not found:
        return [replace(base, secret_hash=whole_hash, redacted=whole_preview)]
    out = []
    for i, c in enumerate(found):
        cid = base.id if i == 0 else f"{base.id}#{c.key_path or i}"
        out.append(replace(base, id=cid, provider=c.provider, kind=c.kind, rule_id=c.rule_id,
                           secret_hash=c.secret_hash, redacted=c.redacted,
                           attributes=base.attributes + attrs(key_path=c.key_path, rule_severity=c.severity,
                                                              category=c.category)))
    return out


# ---------------------------------------------------------------------------------------------- Secrets Manager


def secrets(ctx: AwsContext, region: str) -> Iterator[Credential]:
    """Every secret in one region, with rotation, use and ownership metadata."""
    client = ctx.clients(SM, region)
    listed: list[Credential] = []
    with ctx.coverage.guard(SM, region, "ListSecrets"):
        for meta in paginate(client, "list_secrets", "SecretList"):
            listed.append(secret_credential(meta, region, ctx))
        ctx.coverage.done(SM, region)
    for cred in listed:
        if not ctx.read_values:
            yield cred
            continue
        value: str | None = None
        with ctx.coverage.guard(SM, region, f"GetSecretValue {cred.location}"):
            resp = client.get_secret_value(SecretId=cred.id)
            value = resp.get("SecretString")
            if value is None and resp.get("SecretBinary") is not None:
                raw = resp["SecretBinary"]
                value = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
        if value is None:
            yield cred
            continue
        found = ctx.classifier.classify(value, name=cred.location, where=cred.id)
        yield from _with_value(cred, found, ctx.classifier.value_hash(value), None)


def secret_credential(meta: Mapping[str, Any], region: str, ctx: AwsContext) -> Credential:
    """A Secrets Manager secret's metadata as a Credential (a missing RotationEnabled means disabled)."""
    name = str(meta.get("Name", ""))
    rules = meta.get("RotationRules") or {}
    period = rules.get("AutomaticallyAfterDays")
    if period is None and isinstance(rules.get("ScheduleExpression"), str):
        m = _RATE.search(rules["ScheduleExpression"])
        period = int(m.group(1)) if m else None
    versions = meta.get("SecretVersionsToStages") or meta.get("VersionIdsToStages") or {}
    provider = ctx.classifier.provider_from_name(name)
    kms = meta.get("KmsKeyId") or "aws/secretsmanager"
    return Credential(
        id=str(meta.get("ARN") or name),
        source="aws",
        store="aws-secretsmanager",
        location=name,
        provider=provider,
        owner=owner_from_tags(meta.get("Tags")),
        created_at=as_datetime(meta.get("CreatedDate")),
        last_rotated_at=as_datetime(meta.get("LastRotatedDate")),
        last_used_at=as_datetime(meta.get("LastAccessedDate")),
        versions=len(versions) or None,
        rotation_enabled=bool(meta.get("RotationEnabled", False)),
        rotation_period_days=int(period) if period is not None else None,
        status="deleted" if meta.get("DeletedDate") else "active",
        attributes=attrs(region=region, kms_key=kms, last_changed=_iso(meta.get("LastChangedDate")),
                         next_rotation=_iso(meta.get("NextRotationDate")),
                         rotation_lambda=meta.get("RotationLambdaARN"), owning_service=meta.get("OwningService"),
                         name_provider=provider, usage_tracked="true"),
    )


def _iso(value: Any) -> str | None:
    dt = as_datetime(value)
    return dt.isoformat() if dt else None


# ---------------------------------------------------------------------------------------------- Parameter Store


def parameters(ctx: AwsContext, region: str) -> Iterator[Credential]:
    """SecureString parameters always; String parameters when the name or (with values) the value is a key."""
    client = ctx.clients(SSM, region)
    metas: list[Mapping[str, Any]] = []
    with ctx.coverage.guard(SSM, region, "DescribeParameters"):
        metas = list(paginate(client, "describe_parameters", "Parameters"))
        ctx.coverage.done(SSM, region)
    values: dict[str, str] = {}
    if ctx.read_values and metas:
        names = [str(m["Name"]) for m in metas]
        for start in range(0, len(names), 10):
            batch = names[start:start + 10]
            with ctx.coverage.guard(SSM, region, "GetParameters"):
                resp = client.get_parameters(Names=batch, WithDecryption=True)
                for p in resp.get("Parameters") or ():
                    values[str(p["Name"])] = str(p.get("Value", ""))
    for meta in metas:
        name = str(meta["Name"])
        cred = parameter_credential(meta, region, ctx)
        value = values.get(name)
        found = ctx.classifier.classify(value, name=name, where=cred.id) if value is not None else []
        if cred.store != "aws-ssm-securestring" and not found and not _suspect(name, cred.provider):
            continue  # ordinary configuration, not a credential
        owner = _parameter_owner(ctx, client, region, cred)
        if owner:
            cred = replace(cred, owner=owner)
        if value is None:
            yield cred
        else:
            yield from _with_value(cred, found, ctx.classifier.value_hash(value), None)


def _suspect(name: str, provider: str | None) -> bool:
    return looks_secret(name.rsplit("/", 1)[-1]) or (provider is not None and looks_secret(name))


def parameter_credential(meta: Mapping[str, Any], region: str, ctx: AwsContext) -> Credential:
    """A parameter's metadata as a Credential; the store names its type (securestring, string, stringlist)."""
    name = str(meta["Name"])
    ptype = str(meta.get("Type", "String"))
    version = int(meta.get("Version") or 1)
    modified = as_datetime(meta.get("LastModifiedDate"))
    arn = meta.get("ARN") or (f"arn:{ctx.partition}:ssm:{region}:{ctx.account}:parameter/{name.lstrip('/')}"
                              if ctx.account else f"ssm:{region}:{name}")
    provider = ctx.classifier.provider_from_name(name)
    return Credential(
        id=str(arn),
        source="aws",
        store=f"aws-ssm-{ptype.lower()}",
        location=name,
        provider=provider,
        # Parameter Store keeps only the last change: version 1 means the value was never replaced
        created_at=modified if version <= 1 else None,
        last_rotated_at=modified if version > 1 else None,
        versions=version,
        version=version,
        status="active",
        attributes=attrs(region=region, type=ptype, tier=meta.get("Tier"), kms_key=meta.get("KeyId"),
                         data_type=meta.get("DataType"), last_modified_user=meta.get("LastModifiedUser"),
                         name_provider=provider),
    )


def _parameter_owner(ctx: AwsContext, client: Any, region: str, cred: Credential) -> str | None:
    owner = None
    with ctx.coverage.guard(SSM, region, "ListTagsForResource"):
        resp = client.list_tags_for_resource(ResourceType="Parameter", ResourceId=cred.location)
        owner = owner_from_tags(resp.get("TagList"))
    return owner
