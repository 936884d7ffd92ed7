"""Git history: one streamed ``git log --raw`` (``history``), blobs read through persistent ``git cat-file --batch``
processes (``batch``), and the provenance of every secret (``provenance``). For ``scan repos``: the repository list, shards and bare
mirrors (``mirror``), organisation listings from code hosts (``hosts``) and the incremental state (``ledger``).

May import: ``scanner.sources.blob``, ``scanner.sources.base``, ``scanner.sources.files``, ``scanner.detect`` and the
shared top-level modules.
"""
