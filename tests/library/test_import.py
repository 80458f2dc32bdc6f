"""`import kdlib` stays cheap: no torch, no tensorflow."""

import subprocess
import sys


def test_import_kdlib_does_not_import_frameworks():
    code = (
        "import sys, kdlib, kdlib.data, kdlib.reference, kdlib.metrics, kdlib.experiment, kdlib.cli;"
        "bad = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"import kdlib pulled in {r.stdout.strip()}"
