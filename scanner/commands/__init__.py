"""Commands: one click command per module (``scan_files``, ``scan_repo``, ``scan_vault``, ``scan_aws``, ``scan_all``,
``hook``, ``rules``, ``ignore``, ``report``, ``demo`` with its servers and seed data in ``demo_seed``), registered
lazily in ``scanner.cli``; ``_common`` holds the options every scan shares and the one way a scan ends.

May import everything below it: ``scanner.engine``, ``scanner.report``, ``scanner.verify``, ``scanner.hygiene``,
``scanner.sources``, ``scanner.structure``, ``scanner.detect`` and the shared top-level modules.
"""
