"""Hygiene: judging credentials and findings against the policy.

Owns: the checks (``checks/``: pure functions of facts, policy and clock), computed severity (``severity``),
correlation of findings and stored copies into one inventory (``correlate``) and the remediation runbooks
(``runbooks``, data in ``rules/_runbooks.yaml``).

May import: ``scanner.sources`` (facts about store records), ``scanner.detect`` and the shared top-level modules.
"""
