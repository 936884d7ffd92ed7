"""IAM users' access keys and Bedrock API keys (service-specific credentials), with the reach of their principal.

Calls (all read-only, IAM is global): ListUsers, ListAccessKeys, GetAccessKeyLastUsed, ListUserTags,
ListServiceSpecificCredentials (ServiceName=bedrock.amazonaws.com; no botocore paginator, so Marker is followed
by hand), and for users holding a credential: ListAttachedUserPolicies, ListUserPolicies, GetUserPolicy,
ListGroupsForUser, ListAttachedGroupPolicies, ListGroupPolicies, GetGroupPolicy, GetPolicy, GetPolicyVersion.

A principal's scopes are ``admin`` (an Allow of ``*`` on ``*``, or AdministratorAccess attached) and
``bedrock:*`` (an Allow of every Bedrock action on ``*``). Deny statements and conditions are not evaluated: the
scanner reports what a policy grants on its face, which is what a reviewer must look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from scanner.model import Credential
from scanner.sources.aws.session import GLOBAL, AwsContext, as_datetime, attrs, owner_from_tags, paginate

IAM = "iam"
BEDROCK_SERVICE = "bedrock.amazonaws.com"
ADMIN_POLICY_NAMES = frozenset({"AdministratorAccess"})
SCOPE_ADMIN = "admin"
SCOPE_BEDROCK = "bedrock:*"


# ------------------------------------------------------------------------------------------ policy documents


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def document_scopes(document: Any) -> frozenset[str]:
    """Scopes an IAM policy document grants on its face: ``admin`` and/or ``bedrock:*``."""
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return frozenset()
    if not isinstance(document, Mapping):
        return frozenset()
    scopes: set[str] = set()
    for st in _as_list(document.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow" or "NotResource" in st:
            continue
        if "*" not in [str(r) for r in _as_list(st.get("Resource"))]:
            continue
        if "NotAction" in st:
            # Allow everything except a few actions: admin unless the exclusions cover IAM
            excluded = [str(a).lower() for a in _as_list(st["NotAction"])]
            if not any(a in ("*", "iam:*") for a in excluded):
                scopes.add(SCOPE_ADMIN)
            continue
        actions = [str(a).lower() for a in _as_list(st.get("Action"))]
        if "*" in actions or "*:*" in actions:
            scopes.add(SCOPE_ADMIN)
        if any(a in ("bedrock:*", "bedrock:*:*") for a in actions):
            scopes.add(SCOPE_BEDROCK)
    return frozenset(scopes)


@dataclass(slots=True)
class PolicyReader:
    """Resolves a user's scopes through attached, inline and group policies, caching documents by ARN."""

    ctx: AwsContext
    _managed: dict[str, frozenset[str]] = field(default_factory=dict)
    _groups: dict[str, frozenset[str]] = field(default_factory=dict)

    def user_scopes(self, user: str) -> tuple[frozenset[str], bool]:
        """(scopes, complete); complete is False when some policy could not be read."""
        cov, client = self.ctx.coverage, self.ctx.clients(IAM, GLOBAL)
        before = len(cov.skipped)
        scopes: set[str] = set()
        with cov.guard(IAM, GLOBAL, "ListAttachedUserPolicies"):
            for p in paginate(client, "list_attached_user_policies", "AttachedPolicies", UserName=user):
                scopes |= self.managed(p)
        with cov.guard(IAM, GLOBAL, "ListUserPolicies/GetUserPolicy"):
            for name in paginate(client, "list_user_policies", "PolicyNames", UserName=user):
                doc = client.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"]
                scopes |= document_scopes(doc)
        with cov.guard(IAM, GLOBAL, "ListGroupsForUser"):
            for g in paginate(client, "list_groups_for_user", "Groups", UserName=user):
                scopes |= self.group(str(g["GroupName"]))
        return frozenset(scopes), len(cov.skipped) == before

    def group(self, name: str) -> frozenset[str]:
        """Scopes granted through one group (attached and inline policies)."""
        if name in self._groups:
            return self._groups[name]
        cov, client = self.ctx.coverage, self.ctx.clients(IAM, GLOBAL)
        scopes: set[str] = set()
        with cov.guard(IAM, GLOBAL, "ListAttachedGroupPolicies"):
            for p in paginate(client, "list_attached_group_policies", "AttachedPolicies", GroupName=name):
                scopes |= self.managed(p)
        with cov.guard(IAM, GLOBAL, "ListGroupPolicies/GetGroupPolicy"):
            for pname in paginate(client, "list_group_policies", "PolicyNames", GroupName=name):
                doc = client.get_group_policy(GroupName=name, PolicyName=pname)["PolicyDocument"]
                scopes |= document_scopes(doc)
        self._groups[name] = frozenset(scopes)
        return self._groups[name]

    def managed(self, attached: Mapping[str, Any]) -> frozenset[str]:
        """Scopes of a managed policy (AdministratorAccess by name; others by their default version)."""
        arn = str(attached.get("PolicyArn", ""))
        if arn in self._managed:
            return self._managed[arn]
        scopes: frozenset[str] = frozenset()
        if str(attached.get("PolicyName", "")) in ADMIN_POLICY_NAMES and ":aws:policy/" in arn:
            scopes = frozenset({SCOPE_ADMIN})
        else:
            client = self.ctx.clients(IAM, GLOBAL)
            with self.ctx.coverage.guard(IAM, GLOBAL, "GetPolicy/GetPolicyVersion"):
                version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                doc = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
                scopes = document_scopes(doc)
        self._managed[arn] = scopes
        return scopes


# ------------------------------------------------------------------------------------------ credentials


def iam_credentials(ctx: AwsContext, *, bedrock: bool = True, access_keys: bool = True) -> Iterator[Credential]:
    """Every user's access keys and Bedrock API keys, each with its principal's scopes."""
    client = ctx.clients(IAM, GLOBAL)
    users: list[Mapping[str, Any]] = []
    with ctx.coverage.guard(IAM, GLOBAL, "ListUsers"):
        users = list(paginate(client, "list_users", "Users"))
        ctx.coverage.done(IAM, GLOBAL)
    reader = PolicyReader(ctx)
    bedrock_ok = bedrock
    for user in users:
        name = str(user["UserName"])
        creds: list[Credential] = []
        if access_keys:
            creds.extend(_access_keys(ctx, client, user))
        if bedrock_ok:
            found, bedrock_ok = _bedrock_keys(ctx, client, user)
            creds.extend(found)
        if not creds:
            continue
        scopes, complete = reader.user_scopes(name)
        owner = _user_owner(ctx, client, name)
        for c in creds:
            yield _finish(c, scopes, complete, owner)


def _finish(cred: Credential, scopes: Iterable[str], complete: bool, owner: str | None) -> Credential:
    extra = () if complete else (("scopes_complete", "false"),)
    return replace(cred, scopes=tuple(sorted(scopes)), owner=owner, attributes=cred.attributes + extra)


def _user_owner(ctx: AwsContext, client: Any, user: str) -> str | None:
    owner = None
    with ctx.coverage.guard(IAM, GLOBAL, "ListUserTags"):
        owner = owner_from_tags(list(paginate(client, "list_user_tags", "Tags", UserName=user)))
    return owner


def _access_keys(ctx: AwsContext, client: Any, user: Mapping[str, Any]) -> list[Credential]:
    name = str(user["UserName"])
    out: list[Credential] = []
    with ctx.coverage.guard(IAM, GLOBAL, "ListAccessKeys"):
        for key in paginate(client, "list_access_keys", "AccessKeyMetadata", UserName=name):
            key_id = str(key["AccessKeyId"])
            used: Mapping[str, Any] = {}
            with ctx.coverage.guard(IAM, GLOBAL, "GetAccessKeyLastUsed"):
                used = client.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed") or {}
            service = used.get("ServiceName")
            region = used.get("Region")
            out.append(Credential(
                id=key_id,
                source="aws",
                store="aws-iam",
                location=str(user.get("Arn") or f"iam user {name}"),
                provider="AWS",
                kind="access-key",
                created_at=as_datetime(key.get("CreateDate")),
                last_used_at=as_datetime(used.get("LastUsedDate")),
                status=str(key.get("Status", "")).lower() or None,
                attributes=attrs(user=name, last_used_service=None if service in (None, "N/A") else service,
                                 last_used_region=None if region in (None, "N/A") else region,
                                 usage_tracked="true"),
            ))
    return out


def _bedrock_keys(ctx: AwsContext, client: Any, user: Mapping[str, Any]) -> tuple[list[Credential], bool]:
    """A user's Bedrock API keys; the bool is False when the call is unsupported or denied (stop asking)."""
    name = str(user["UserName"])
    out: list[Credential] = []
    before = len(ctx.coverage.skipped)
    with ctx.coverage.guard("bedrock-keys", GLOBAL, "ListServiceSpecificCredentials"):
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"UserName": name, "ServiceName": BEDROCK_SERVICE}
            if marker:
                kwargs["Marker"] = marker
            resp = client.list_service_specific_credentials(**kwargs)
            for c in resp.get("ServiceSpecificCredentials") or ():
                out.append(_bedrock_credential(c, user))
            marker = resp.get("Marker") if resp.get("IsTruncated") else None
            if not marker:
                break
        ctx.coverage.done("bedrock-keys", GLOBAL)
    stopped = any(s.target == f"bedrock-keys/{GLOBAL}" and s.reason in ("not-supported", "access-denied")
                  for s in ctx.coverage.skipped[before:])
    return out, not stopped


def _bedrock_credential(c: Mapping[str, Any], user: Mapping[str, Any]) -> Credential:
    expires = as_datetime(c.get("ExpirationDate"))
    return Credential(
        id=str(c["ServiceSpecificCredentialId"]),
        source="aws",
        store="aws-iam-bedrock",
        location=str(user.get("Arn") or f"iam user {c.get('UserName')}"),
        provider="AWS",
        kind="bedrock-api-key",
        created_at=as_datetime(c.get("CreateDate")),
        expires_at=expires,
        status=str(c.get("Status", "")).lower() or None,
        attributes=attrs(user=c.get("UserName"), service=c.get("ServiceName"),
                         service_user_name=c.get("ServiceUserName"), alias=c.get("ServiceCredentialAlias"),
                         term="short-term" if expires else "long-term"),
    )
