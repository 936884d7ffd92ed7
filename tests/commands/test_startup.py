"""The CLI starts fast: importing it (and running a file scan) loads none of the heavy SDKs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("boto3", "botocore", "hvac", "git", "jinja2", "detect_secrets", "requests")


def test_importing_cli_loads_no_heavy_sdk():
    code = "import scanner.cli, sys; print(' '.join(sorted(sys.modules)))"
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert not {m for m in mods if m.split(".")[0] in HEAVY}


def test_scan_files_path_loads_no_heavy_sdk(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    code = (
        "import sys\nfrom scanner.cli import main\n"
        f"try:\n    main(['scan', 'files', {str(tmp_path)!r}, '-q'])\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    mods = set(out.split("MODULES", 1)[1].split())
    assert not {m for m in mods if m.split(".")[0] in HEAVY}
