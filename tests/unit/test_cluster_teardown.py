"""The left-over check of `make k8s-down` (deploy/cluster/teardown.py) finds what a cluster
leaves in its state directory: a real mount and a real process, planted here and removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.cluster import settings, teardown

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


def test_a_mount_and_a_process_under_the_state_dir_are_found_and_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state dir"  # a space: mountinfo escapes it as \040
    monkeypatch.setattr(settings, "STATE", state)
    target = state / "kubelet" / "pods" / "volume"
    target.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(target)], check=True)
    code = "import sys, time; time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code, str(state)])
    try:
        assert teardown.our_mounts() == [str(target)]
        assert process.pid in [pid for pid, _cmd in teardown.our_processes()]
        left = teardown.leftovers()
        assert f"mount {target}" in left
        assert any(item.startswith(f"process {process.pid}:") for item in left)
        teardown.unmount_all()
        assert teardown.our_mounts() == []
    finally:
        process.kill()
        process.wait(timeout=10)
        subprocess.run(["umount", str(target)], check=False, capture_output=True)
    assert process.pid not in [pid for pid, _cmd in teardown.our_processes()]
