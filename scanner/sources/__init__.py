"""Sources: where content and credentials come from.

Owns: scanning one blob's bytes (``blob``: the text pass plus the structure pass), files and directories
(``files``), the staged index (``staged``), git history (``git/``), Vault / OpenBao (``vault/``) and AWS (``aws/``).
Content sources return a ``SourceResult``; store sources return a ``CredentialResult`` of facts (credentials, skips,
source-specific violations); judging them against the policy is ``scanner.hygiene``'s job.

May import: ``scanner.structure``, ``scanner.detect`` and the shared top-level modules.
"""
