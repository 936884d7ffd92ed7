"""The session-wide leak check itself fails a run when a planted value reaches an output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def test_leak_check_fails_a_leaking_session(tmp_path):
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leaky.py").write_text(
        "from conftest import plant, record_output\n"
        "def test_leak():\n"
        "    v = plant('leaky-secret-value-1234567890')\n"
        "    record_output('the key is ' + v)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CREDSWEEP_TEST_LEAKDIR"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "1 leak(s)" in proc.stdout and "LEAK:" in proc.stdout
