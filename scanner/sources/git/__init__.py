"""Git history: one streamed ``git log --raw`` (``history``), blobs read through persistent ``git cat-file --batch``
processes (``batch``), and the provenance of every secret (``provenance``).

May import: ``scanner.sources.blob``, ``scanner.sources.base``, ``scanner.sources.files``, ``scanner.detect`` and the
shared top-level modules.
"""
