"""Benchmark corpora: real SDK source (nearly every finding is a false positive) and a planted corpus."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

from scanner.detect.examples import expand_example
from scanner.detect.ruleset import load_builtin

SDK_PACKAGES = [
    "openai", "anthropic", "huggingface_hub", "litellm", "langchain-core", "langchain-openai", "boto3", "botocore",
    "google-genai", "cohere", "mistralai", "groq", "together", "transformers", "langsmith", "langfuse", "wandb",
    "pinecone", "replicate", "fireworks-ai", "hvac", "databricks-sdk", "mlflow-skinny",
]


def real_corpus(work: Path) -> Path:
    """Unpacked wheels of popular AI SDKs (downloaded once from PyPI)."""
    dest = work / "sdk"
    if dest.is_dir() and any(dest.iterdir()):
        return dest
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for pkg in SDK_PACKAGES:  # one at a time: a package missing for this Python does not stop the rest
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "-d", str(wheels), pkg], check=False)
    for whl in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(dest / whl.name.split("-")[0])
    return dest


_DECOYS = [
    'OPENAI_API_KEY="sk-proj-your-key-here"', "OPENAI_API_KEY=sk-...", 'api_key = "<YOUR_API_KEY>"',
    "export ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxx", 'token = os.environ["HF_TOKEN"]',
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    'password: "${DB_PASSWORD}"', "api_key: {{ .Values.openai.apiKey }}", 'request_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"',
    'commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"', 'integrity "sha512-Q2lhbmZhbGxvdGVzdA3oIhfmM2+c9Ub9Xo4Tj+Wc7A=="',
    'img = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="',
    "secret_key = 'changeme'", 'HF_TOKEN="hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"', "GROQ_API_KEY=gsk_...",
    'headers = {"Authorization": f"Bearer {api_key}"}', "token: '********'", "api_key = None", 'api_key=""',
    "DATABASE_URL=postgres://user:password@localhost:5432/db", "REDIS_URL=redis://localhost:6379/0",
    'sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    "checksum: 5d41402abc4b2a76b9719d911017c592", 'version = "1.0.0+sha.5114f85"', 'user_agent = "Mozilla/5.0 (X11)"',
    "key = config.get('api_key')", "api_key = getpass.getpass()", "OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}",
    "github_token: ${{ github.token }}", "# see https://platform.openai.com/api-keys to create a key",
]


def planted_corpus(work: Path, copies: int = 3, seed: int = 1) -> tuple[Path, list[dict[str, object]]]:
    """Files with fake keys for every rule example (several seeds each) and realistic decoys, among real code."""
    rng = random.Random(seed)
    root = work / "planted"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    filler_src = _filler(work)
    planted: list[dict[str, object]] = []
    for rule in load_builtin():
        if getattr(rule, "structure_only", False):
            continue  # key-name rules apply to configuration structure only; tests/test_structure_* cover them
        for i, ex in enumerate(rule.examples):
            for c in range(copies):
                text, secret = expand_example(ex, f"bench#{rule.id}#{i}#{c}")
                if not secret:
                    continue
                ext = rng.choice([".py", ".env", ".yaml", ".js", ".sh", ".md"])
                path = root / rule.id.split(".")[0] / f"{rule.id.replace('.', '_')}_{i}_{c}{ext}"
                path.parent.mkdir(parents=True, exist_ok=True)
                before = _fill(rng, filler_src, ext)
                after = _fill(rng, filler_src, ext)
                path.write_text("\n".join(before + [text] + after) + "\n")
                line = len(before) + 1 + text[: text.find(secret)].count("\n")
                planted.append({"path": path.relative_to(root).as_posix(), "line": line, "rule": rule.id,
                                "first": len(before) + 1, "last": len(before) + 1 + text.count("\n")})
    decoy_dir = root / "decoys"
    decoy_dir.mkdir(parents=True, exist_ok=True)
    for n in range(copies * 20):
        ext = rng.choice([".py", ".env", ".yaml", ".md"])
        lines = _fill(rng, filler_src, ext, 30) + rng.sample(_DECOYS, k=8)
        rng.shuffle(lines)
        (decoy_dir / f"config_{n}{ext}").write_text("\n".join(lines) + "\n")
    (work / "planted.json").write_text(json.dumps(planted))
    return root, planted


def _fill(rng: random.Random, filler: list[str], ext: str, n: int | None = None) -> list[str]:
    """Real source lines around a planted key; in .env and .yaml files they are comments, as they would be."""
    lines = rng.sample(filler, k=min(len(filler), n if n is not None else rng.randrange(3, 40)))
    return ["# " + line for line in lines] if ext in (".env", ".yaml", ".sh") else lines


def _filler(work: Path) -> list[str]:
    sdk = work / "sdk"
    lines: list[str] = []
    if sdk.is_dir():
        for f in sorted(sdk.rglob("*.py"))[:200]:
            lines.extend(x for x in f.read_text(errors="replace").splitlines() if 0 < len(x) < 100)
    return lines[:20000] or ["def f(x):", "    return x", "import os", "print('hello')"]
