"""The app image: the five apps start from it as the chart starts them (`python -m apps <id>`,
APP_HOST 0.0.0.0, uid 10001, a read-only root with /tmp writable, no capabilities) and answer
/healthz on a published loopback port; with no sidecar beside them, /readyz says so (503). The
image holds the locked runtime packages and no build tool, and carries its labels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apps.gateway.tokens import Role, mint_token
from deploy.stack.paths import ROOT
from tests.images.podman import chart_app_version, image_ref, inspect_image, running, wait_for

IMAGE = image_ref("app")
# The chart's values.yaml: each app's port and database (gateway has none).
APPS = {
    "gateway": (8080, None),
    "order-service": (8001, "orders"),
    "inventory-service": (8002, "inventory"),
    "payment-service": (8003, "payments"),
    "notification-service": (8004, "notifications"),
}
ISSUER, AUDIENCE = "order-platform", "order-platform-api"
KEY_IN_CONTAINER = "/etc/order-platform/auth/jwt-es256.pub"


SigningKey = tuple[ec.EllipticCurvePrivateKey, Path]  # the private key, its public half's file


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path_factory.mktemp("auth") / "jwt-es256.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    public.chmod(0o644)  # read by uid 10001 in the container
    public.parent.chmod(0o755)
    return key, public


def app_env(app_id: str) -> dict[str, str]:
    port, database = APPS[app_id]
    env = {"APP_ID": app_id, "APP_PORT": str(port), "APP_HOST": "0.0.0.0"}
    if database:  # SQLite on the container's /tmp instead of the chart's PostgreSQL
        env["DATABASE_URL"] = f"sqlite:////tmp/{database}.db"
    else:
        env |= {"AUTH_PUBLIC_KEY_FILE": KEY_IN_CONTAINER, "AUTH_ISSUER": ISSUER}
        env["AUTH_AUDIENCE"] = AUDIENCE
    return env


@pytest.mark.parametrize("app_id", list(APPS))
def test_each_app_starts_and_answers_its_probes(app_id: str, signing_key: SigningKey) -> None:
    port = APPS[app_id][0]
    volumes = {signing_key[1]: KEY_IN_CONTAINER} if app_id == "gateway" else {}
    command = ["python", "-m", "apps", app_id]
    with running(IMAGE, command, app_env(app_id), [port], volumes, read_only=True) as app:
        healthz = app.url(port, "/healthz")
        wait_for(f"{app_id} /healthz", lambda: answers(healthz), 60, app)
        assert httpx.get(healthz, timeout=5).json() == {"status": "ok"}
        ready = httpx.get(app.url(port, "/readyz"), timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["sidecar"] == "down"
        assert app.exec("id", "-u").stdout.strip() == "10001"


def test_gateway_checks_tokens_with_the_mounted_key(signing_key: SigningKey) -> None:
    key, public = signing_key
    command = ["python", "-m", "apps", "gateway"]
    volumes = {public: KEY_IN_CONTAINER}
    with running(IMAGE, command, app_env("gateway"), [8080], volumes, read_only=True) as app:
        wait_for("gateway /healthz", lambda: answers(app.url(8080, "/healthz")), 60, app)
        orders = app.url(8080, "/api/v1/orders")
        assert httpx.get(orders, timeout=5).status_code == 401
        token = mint_token(
            key,
            subject="image-check",
            role=Role.ADMIN,
            issuer=ISSUER,
            audience=AUDIENCE,
            lifetime=timedelta(minutes=5),
        )
        # Past authentication, the gateway forwards through its sidecar, which is not there.
        answer = httpx.get(orders, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code >= 500, answer.text


def test_image_holds_runtime_packages_only_and_no_build_tools() -> None:
    probe = (
        "import importlib.util as u; "
        "print(' '.join(m for m in ('pip', 'setuptools', 'uv', 'pytest', 'ruff', 'playwright', "
        "'matplotlib', 'fastapi', 'dapr', 'psycopg', 'confluent_kafka') if u.find_spec(m)))"
    )
    with running(IMAGE, ["sleep", "60"]) as box:
        found = box.exec("python", "-c", probe)
        assert found.returncode == 0, found.stderr
        assert found.stdout.split() == ["fastapi", "dapr", "psycopg", "confluent_kafka"]
        # apt-get: the probe finds what is there (Debian's own tool, part of the base).
        look = "for t in pip pip3 gcc cc make uv apt-get; do command -v $t; done; true"
        tools = box.exec("sh", "-c", look)
        assert tools.stdout.split() == ["/usr/bin/apt-get"], tools.stdout
        listing = box.exec("ls", "/srv/order-platform").stdout.split()
        assert listing == ["apps", "dapr", "workflows"]


def test_image_labels_and_user() -> None:
    config = inspect_image(IMAGE)
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == chart_app_version()
    assert labels["org.opencontainers.image.title"] == "order-platform"
    revision = labels["org.opencontainers.image.revision"]
    assert len(revision.removesuffix("+dirty")) == 40, revision
    assert config["Config"]["User"] == "10001:10001"
    assert config["Config"]["Cmd"] == ["python", "-m", "apps", "gateway"]
    assert (ROOT / "requirements.lock").is_file()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
