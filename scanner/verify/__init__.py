"""Verification: offline validity checks that always run (``offline``) and the opt-in live checks (``--verify``):
the allowed hosts and options (``options``), the HTTPS client with its limits (``client``), reading providers'
answers (``answers``) and the verifier that runs them (``verifier``).

May import: ``scanner.detect`` (rules and their verify blocks) and the shared top-level modules.
"""
