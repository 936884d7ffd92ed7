"""Reports: from detected matches to findings, and from results to every output format.

Owns: grouping matches into findings with fingerprints and suppression (``findings``, ``suppress``), merging and
comparing results (``merge``) and the output formats (``formats/``: text, JSON, SARIF, HTML, Markdown).

May import: ``scanner.verify``, ``scanner.hygiene``, ``scanner.sources``, ``scanner.detect`` and the shared
top-level modules; never ``scanner.engine`` or ``scanner.commands``.
"""
