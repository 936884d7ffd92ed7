"""credsweep: a credential-hygiene scanner for AI inference keys."""

__version__ = "0.1.0"

__all__ = ["__version__"]
