"""Detection: rules as data, the matcher, the detector and its filters.

Owns: loading and validating rule files (``ruleset``, ``rulecheck``, ``verifyspec`` for the rules' verify blocks),
the compiled-rule cache, the matching engines (``matcher``: Hyperscan or Aho-Corasick + RE2), the detector that turns
raw hits into candidate matches (``detector``) and the pure ``filters`` and ``validators`` it applies.

May import: ``scanner.model``, ``scanner.errors``, ``scanner.redact`` and the shared top-level modules only.
"""
