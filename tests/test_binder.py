"""A Binder launch replayed without Docker (binder/check): a fresh venv from
the binder files, postBuild, then `start` running every notebook under nbval."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.binder
def test_binder_replay():
    """The notebooks pass on a sandbox started by binder/start."""
    run = subprocess.run(["bash", str(ROOT / "binder" / "check")], cwd=ROOT,
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    timing = re.search(r"first completed task in 04: ([0-9.]+) s", run.stdout)
    assert timing, run.stdout[-2000:]
    print(timing.group(0))
