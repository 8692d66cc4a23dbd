"""bin/ensure-chromium, which `make test` runs before any test: Chromium on PATH is enough; a
machine where it cannot be installed gets one line naming the command to run, and a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "ensure-chromium"


def bare_path(folder: Path) -> str:
    """A PATH of only the few utilities the script needs: no chromium, no apt-get, no sudo."""
    folder.mkdir()
    for tool in ("sh", "id"):
        found = shutil.which(tool)
        assert found, tool
        os.symlink(found, folder / tool)
    return str(folder)


def run(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT)], env={"PATH": path}, capture_output=True, text=True, timeout=30)


def test_without_chromium_and_a_way_to_install_it_one_line_names_the_command(tmp_path):
    result = run(bare_path(tmp_path / "bin"))

    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Chromium" in lines[0] and "'sudo apt-get install chromium'" in lines[0]


def test_chromium_on_path_is_enough_and_says_nothing(tmp_path):
    path = bare_path(tmp_path / "bin")
    chromium = tmp_path / "bin" / "chromium"
    chromium.write_text("#!/bin/sh\necho 'Chromium 156.0.8078.114'\n")
    chromium.chmod(0o755)

    result = run(path)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
