"""SARIF rule descriptors (``reportingDescriptor``) for findings and hygiene checks: names, help text, tags, the
security severity GitHub shows, and one stable index per rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.model import Confidence, Finding, Severity, Violation
from scanner.safetext import display, md_text

CWE_TAG = "external/cwe/cwe-798"


_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


_PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}


def level_from_severity(severity: Severity) -> str:
    """The one mapping of severity to SARIF level."""
    if severity >= Severity.HIGH:
        return "error"
    if severity == Severity.MEDIUM:
        return "warning"
    return "note"


@dataclass(slots=True)
class RuleIndex:
    """Rules created on demand with a stable index (bandit's approach)."""

    descriptors: list[dict[str, Any]]
    index: dict[str, int]

    def add(self, rule_id: str, make: Any) -> int:
        if rule_id not in self.index:
            self.index[rule_id] = len(self.descriptors)
            self.descriptors.append(make())
        return self.index[rule_id]


def _first_sentence(text: str, fallback: str) -> str:
    text = " ".join(text.split())
    return (text or fallback)[:1000]


def help_uris() -> dict[str, str]:
    """Provider documentation for built-in rules (rotate page first), for ``helpUri``."""
    try:
        from scanner.detect.ruleset import load_builtin

        out: dict[str, str] = {}
        for rule in load_builtin():
            uri = rule.rotate_url or (rule.references[0] if rule.references else None)
            if uri and uri.startswith("https://"):
                out[rule.id] = uri
        return out
    except Exception:  # noqa: BLE001 - help links are a nicety; never fail a report for them
        return {}


def finding_rule(f: Finding, severity: Severity, help_uri: str | None = None) -> dict[str, Any]:
    steps = list(f.remediation) or ["Revoke the credential at its provider, issue a new one and store it in a "
                                    "secret manager; remove it from the code."]
    text = display(f"{f.description or f.rule_name}") + "\n\nWhat to do:\n" + "\n".join(
        f"{i}. {display(s)}" for i, s in enumerate(steps, 1))
    md = (f"**{md_text(f.rule_name)}** ({md_text(f.provider)})\n\n{md_text(f.description)}\n\n#### What to do\n\n"
          + "\n".join(f"{i}. {md_text(s)}" for i, s in enumerate(steps, 1))
          + "\n\nRemoving the value from the code is not enough: git history keeps it, so rotate it first.")
    tags = ["security", "secret", CWE_TAG]
    tags += [t for t in (f.provider, f.category) if t and t not in tags]
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "name": "".join(p.capitalize() for p in f.rule_id.replace("-", ".").split("."))[:255],
        "shortDescription": {"text": display(_first_sentence(f.rule_name, f.rule_id))},
        "fullDescription": {"text": display(_first_sentence(f.description, f.rule_name))},
        "help": {"text": text[:20000], "markdown": md[:20000]},
        "defaultConfiguration": {"level": level_from_severity(severity)},
        "properties": {
            "tags": tags[:10],
            "precision": _PRECISION.get(f.confidence, "medium"),
            "security-severity": _SECURITY_SEVERITY[severity],
            "provider": f.provider,
            "kind": f.kind,
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def check_rule(v: Violation, severity: Severity) -> dict[str, Any]:
    steps = list(v.remediation) or ["Review the credential with its owner and fix it per the hygiene policy."]
    name = v.check_id.replace("-", " ").lower()
    return {
        "id": f"hygiene/{v.check_id.lower()}",
        "name": "Hygiene" + "".join(p.capitalize() for p in v.check_id.lower().split("-")),
        "shortDescription": {"text": f"Credential hygiene: {name}"},
        "fullDescription": {"text": f"A stored credential failed the '{v.check_id}' hygiene check of the policy."},
        "help": {"text": "What to do:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
                 "markdown": "#### What to do\n\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))},
        "defaultConfiguration": {"level": level_from_severity(severity)},
        "properties": {
            "tags": ["security", "secret", "hygiene"],
            "precision": "very-high",
            "security-severity": _SECURITY_SEVERITY[severity],
        },
    }
