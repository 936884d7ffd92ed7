"""Vault / OpenBao through hvac: the client and its errors (``client``), the KV walk (``walk``), token, policy and
AppRole records (``records``), ACL policy text (``policies``) and classification of values (``classify``).

May import: ``scanner.sources.blob``, ``scanner.sources.base``, ``scanner.detect`` and the shared top-level modules.
"""
