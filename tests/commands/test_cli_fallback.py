"""The "never a traceback" fallback in scanner/cli.py: an unexpected exception still ends in one line on stderr
and a documented exit code (3), with the exception class and place but no message text that could hold data.

It is triggered for real, without patching credsweep: an organisation hash key in the environment that is not
valid UTF-8 (POSIX environments are bytes) makes ``str.encode`` raise inside the hasher.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import record_output


def _run(tmp_path: Path, **extra: bytes) -> subprocess.CompletedProcess[bytes]:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    env = {k.encode(): v.encode() for k, v in os.environ.items() if k != "CREDSWEEP_DEBUG"}
    env.update({k.encode(): v for k, v in extra.items()})
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "files", str(tmp_path)], env=env,
                          capture_output=True, timeout=120)
    record_output(proc.stdout, "stdout")
    record_output(proc.stderr, "stderr")
    return proc


def test_unexpected_exception_is_one_line_and_exit_3(tmp_path):
    proc = _run(tmp_path, CREDSWEEP_HASH_KEY=b"org-key-\xff\xfe")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("credsweep: internal error: UnicodeEncodeError at "), err
    assert "CREDSWEEP_DEBUG=1" in err
    assert "org-key" not in err and "\\xff" not in err  # the exception's text is never printed
    assert proc.stdout == b""


def test_debug_env_shows_the_traceback(tmp_path):
    proc = _run(tmp_path, CREDSWEEP_HASH_KEY=b"org-key-\xff\xfe", CREDSWEEP_DEBUG=b"1")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1, err  # Python's own exit code for an uncaught exception
    assert "Traceback" in err and "UnicodeEncodeError" in err
