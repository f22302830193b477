"""What runs on the node once it is Ready: the images loaded into containerd (no registry),
CoreDNS, and Dapr's control plane from Dapr's own Helm chart."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

from deploy.cluster import configs, procs, settings
from deploy.stack.paths import ROOT

S = settings
HERE = Path(__file__).parent
DAPR_NAMESPACE = "dapr-system"


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def kubectl(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    argv = [str(S.binary("kubectl")), f"--kubeconfig={configs.kubeconfig('admin')}", *args]
    return procs.run(argv, check=check, timeout=timeout)


def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ctr", f"--address={S.CONTAINERD_SOCKET}", f"--namespace={S.CTR_NAMESPACE}", *args]
    return procs.run(argv, check=check)


def image_entry() -> Path:
    """Builds the images if their cache entry is missing; the entry's directory."""
    script = ROOT / "deploy/setup/k8s-images.sh"
    out = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def load_images() -> None:
    entry = image_entry()
    present = set(ctr("images", "ls", "-q").stdout.split())
    for line in (entry / "images.txt").read_text().splitlines():
        ref, archive = line.split()
        if ref not in present:
            ctr("images", "import", str(entry / archive))
    say(f"images loaded into containerd ({entry})")
    load_platform_images()


def load_platform_images() -> None:
    """The platform's images `make images` saved (deploy/setup/images.sh: <name>-<tag>.tar, its
    inputs' hash in <name>-<tag>.tar.key), each imported again whenever its hash changed."""
    record = S.STATE / "platform-images.json"
    imported = json.loads(record.read_text()) if record.exists() else {}
    for archive in sorted(S.IMAGES.glob("*.tar")):
        key_file = archive.with_name(archive.name + ".key")
        if not key_file.exists():
            continue  # not one of the platform's (or still being written)
        key = key_file.read_text().strip()
        if imported.get(archive.name) != key:
            ctr("images", "import", str(archive))
            imported[archive.name] = key
            say(f"platform image {archive.name} loaded into containerd")
    record.write_text(json.dumps(imported, indent=1))


def wait(what: str, condition: str, namespace: str, timeout: int, component: str) -> None:
    """Waits for CONDITION on WHAT ("node/x", "deployment/y", "pods --all"); on failure writes
    the pods, the events and the logs of the namespace's pods to COMPONENT's log and fails."""
    result = kubectl(
        "wait", f"--for={condition}", f"--timeout={timeout}s", "-n", namespace, *what.split(),
        check=False, timeout=timeout + 30,
    )  # fmt: skip
    if result.returncode == 0:
        return
    report = [result.stderr]
    report.append(kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout)
    report.append(kubectl("get", "events", "-A", "--sort-by=.lastTimestamp", check=False).stdout)
    for pod in kubectl("get", "pods", "-n", namespace, "-o", "name", check=False).stdout.split():
        logs = kubectl("logs", "-n", namespace, pod, "--all-containers", "--tail=40", check=False)
        report.append(f"--- {pod}\n{logs.stdout}{logs.stderr}")
    settings.LOGS.mkdir(parents=True, exist_ok=True)
    procs.log_path(component).write_text("\n".join(report))
    raise procs.fail(component, f"{what} in {namespace}: {condition} not reached in {timeout}s")


def coredns() -> None:
    text = string.Template((HERE / "manifests/coredns.yaml").read_text()).substitute(
        DNS_SERVICE_IP=S.DNS_SERVICE_IP,
        CLUSTER_DOMAIN=S.CLUSTER_DOMAIN,
        COREDNS_IMAGE=f"localhost/order-platform/coredns:{S.versions()['COREDNS_VERSION']}",
    )
    manifest = S.CONF / "coredns.yaml"
    manifest.write_text(text)
    kubectl("apply", "-f", str(manifest))
    wait("deployment/coredns", "condition=Available", "kube-system", 180, "coredns")
    say("CoreDNS ready (kube-dns Service)")


def dapr_chart_values() -> list[str]:
    """helm's value arguments for Dapr's chart: the node's values, the images of DAPR_VERSION."""
    return [
        "--values", str(HERE / "dapr-values.yaml"),
        "--set", f"global.tag={S.versions()['DAPR_VERSION']}",
    ]  # fmt: skip


def dapr() -> None:
    helm = [str(S.binary("helm")), f"--kubeconfig={configs.kubeconfig('admin')}"]
    argv = [
        *helm, "upgrade", "--install", "dapr", str(S.dapr_chart()),
        "--namespace", DAPR_NAMESPACE, "--create-namespace", *dapr_chart_values(),
        "--wait", "--timeout", "10m",
    ]  # fmt: skip
    settings.LOGS.mkdir(parents=True, exist_ok=True)
    with open(procs.log_path("helm-dapr"), "ab") as log:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=660)
    if done.returncode != 0:
        pods = kubectl("get", "pods", "-n", DAPR_NAMESPACE, "-o", "wide", check=False).stdout
        raise procs.fail("helm-dapr", f"helm install of Dapr's chart failed\n{pods}")
    wait("pods --all", "condition=Ready", DAPR_NAMESPACE, 300, "dapr")
    say("Dapr control plane ready (every pod in dapr-system Ready)")
