"""Offline checks run on every scan, without --verify and without any network: checksums, JWT expiry, PEM
structure, Google service-account key-file shape."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime

from conftest import fake_key, plant
from support.verify_server import by_rule, scan_json


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _jwt(claims: dict[str, object]) -> str:
    sig = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return plant(f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}.{_b64url(claims)}.{sig}")


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    body = "".join(pem.strip().splitlines()[1:-1])
    plant(body[40:120])  # any stretch of the key material must stay out of outputs
    return pem


def test_checksum_tokens_are_offline_valid(tmp_path):
    key = fake_key("github.pat")
    rc, doc, err = scan_json(tmp_path, f"GITHUB_TOKEN={key}\n")
    assert rc == 1, err
    v = by_rule(doc)["github.pat"]["verification"]
    assert v["status"] == "offline-valid" and "checksum" in v["detail"]


def test_expired_jwt_is_marked_expired(tmp_path):
    old = _jwt({"iss": "https://idp.example.test/", "exp": 1_600_000_000, "role": "service_role"})
    rc, doc, _ = scan_json(tmp_path, f"SUPABASE_KEY={old}\n")
    f = by_rule(doc)["generic.jwt"]
    assert f["verification"]["status"] == "expired"
    assert f["verification"]["detail"].startswith("JWT expired 2020-09-13")
    assert f["verification"]["identity"] == "iss=https://idp.example.test/"
    assert f["verification"]["scopes"] == ["role:service_role"]
    assert "expired" in f["severity_reason"]


def test_unexpired_jwt_and_as_of(tmp_path):
    exp = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    tok = _jwt({"iss": "supabase", "exp": exp})
    rc, doc, err = scan_json(tmp_path, f"SUPABASE_KEY={tok}\n")
    assert rc == 1, err
    assert by_rule(doc)["generic.jwt"]["verification"]["status"] == "offline-valid"
    rc, doc, err = scan_json(tmp_path, f"SUPABASE_KEY={tok}\n", "--as-of", "2032-01-01")
    assert rc == 1, err
    assert by_rule(doc)["generic.jwt"]["verification"]["status"] == "expired"


def test_real_pem_key_parses_and_random_body_does_not(tmp_path):
    pem = _rsa_pem()
    rc, doc, err = scan_json(tmp_path, pem)
    assert rc == 1, err
    v = by_rule(doc)["pem.private-key"]["verification"]
    assert v == {**v, "status": "offline-valid", "detail": "PKCS#8 RSA private key"}
    fake = fake_key("pem.private-key")
    rc, doc, err = scan_json(tmp_path, fake + "\n")
    assert rc == 1, err
    assert by_rule(doc)["pem.private-key"]["verification"]["status"] == "offline-invalid"


def test_base64_wrapped_pem(tmp_path):
    pem = _rsa_pem()
    wrapped = plant(base64.b64encode(pem.encode()).decode())
    rc, doc, err = scan_json(tmp_path, f"    client-key-data: {wrapped}\n")
    assert rc == 1, err
    v = by_rule(doc)["pem.private-key-base64"]["verification"]
    assert v["status"] == "offline-valid" and "RSA" in v["detail"]


def _sa(pem: str, **over: object) -> str:
    doc = {"type": "service_account", "project_id": "demo-proj", "private_key_id": secrets.token_hex(20),
           "private_key": pem, "client_email": "svc@demo-proj.iam.gserviceaccount.com", "client_id": "1234567890",
           "token_uri": "https://oauth2.googleapis.com/token"}
    doc.update(over)
    return json.dumps({k: v for k, v in doc.items() if v is not None}, indent=2)


def test_service_account_file_shape(tmp_path):
    pem = _rsa_pem()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "key.json").write_text(_sa(pem))
    rc, doc, err = scan_json(tmp_path, "nothing\n")
    assert rc == 1, err
    v = by_rule(doc)["google.service-account-key"]["verification"]
    assert v["status"] == "offline-valid" and "shape complete" in v["detail"], v
    (tmp_path / "src" / "key.json").write_text(_sa(pem, private_key_id=None, token_uri=None))
    rc, doc, err = scan_json(tmp_path, "nothing\n")
    assert rc == 1, err
    v = by_rule(doc)["google.service-account-key"]["verification"]
    assert v["status"] == "offline-invalid"
    assert "private_key_id" in v["detail"] and "token_uri" in v["detail"]
