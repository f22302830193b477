"""dapr.yaml against the real dapr CLI's multi-app run file, which cannot be built here (the Go
module proxy refuses github.com/dapr/cli): every field must be one the CLI v1.18 knows, with its
type; the paths it resolves must exist; and the daprd command line and app environment the CLI
would derive from each app must agree with what deploy/stack starts (ports above all) and with
the port table of docs/operations.md.

The schema below restates the CLI v1.18.0 structs (pkg/runfileconfig/run_file_config.go and
pkg/standalone/run.go: RunFileConfig, App, RunConfig, SharedRunConfig): each yaml key, its Go
type, and the daprd flag (`arg` tag) or app variable (`env` tag) the CLI turns it into.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.stack import services
from deploy.stack.cli import CLI_SENTRY_PORT, cli_env, postgres_runfile
from deploy.stack.paths import ROOT, dapr_bin, pinned_versions
from deploy.stack.runfile import load_runfile
from deploy.stack.secrets import PUBLIC_APPS, Tokens

RUNFILE = ROOT / "dapr.yaml"

# Top level (RunFileConfig).
TOP = {"version": int, "name": str, "common": dict, "apps": list}
# SharedRunConfig: allowed in `common` and in each app. key -> (type, daprd flag or None).
SHARED: dict[str, tuple[type, str | None]] = {
    "configFilePath": (str, "--config"),
    "appProtocol": (str, "--app-protocol"),
    "apiListenAddresses": (str, "--dapr-listen-addresses"),
    "enableProfiling": (bool, "--enable-profiling"),
    "logLevel": (str, "--log-level"),
    "appMaxConcurrency": (int, "--app-max-concurrency"),
    "placementHostAddress": (str, "--placement-host-address"),
    "resourcesPath": (str, None),  # deprecated: merged into resourcesPaths
    "resourcesPaths": (list, "--resources-path"),
    "appSSL": (bool, "--app-ssl"),
    "maxBodySize": (str, "--max-body-size"),
    "readBufferSize": (str, "--read-buffer-size"),
    "enableAppHealthCheck": (bool, "--enable-app-health-check"),
    "appHealthCheckPath": (str, "--app-health-check-path"),
    "appHealthProbeInterval": (int, "--app-health-probe-interval"),
    "appHealthProbeTimeout": (int, "--app-health-probe-timeout"),
    "appHealthThreshold": (int, "--app-health-threshold"),
    "enableApiLogging": (bool, "--enable-api-logging"),
    "runtimePath": (str, None),  # where daprd is: <runtimePath>/.dapr/bin/daprd
    "env": (dict, None),  # the app's environment only, not daprd's
    "daprdLogDestination": (str, None),
    "appLogDestination": (str, None),
    "schedulerHostAddress": (str, "--scheduler-host-address"),
}
# RunConfig and App: per app only.
APP_ONLY: dict[str, tuple[type, str | None]] = {
    "appID": (str, "--app-id"),
    "appChannelAddress": (str, "--app-channel-address"),
    "appPort": (int, "--app-port"),
    "daprHTTPPort": (int, "--dapr-http-port"),
    "daprGRPCPort": (int, "--dapr-grpc-port"),
    "profilePort": (int, "--profile-port"),
    "command": (list, None),
    "metricsPort": (int, "--metrics-port"),
    "unixDomainSocket": (str, "--unix-domain-socket"),
    "daprInternalGRPCPort": (int, "--dapr-internal-grpc-port"),
    "appDirPath": (str, None),  # required
    "containerImage": (str, None),
    "containerImagePullPolicy": (str, None),
    "createService": (bool, None),
}
APP_FIELDS = {**SHARED, **APP_ONLY}
# Variables the CLI sets for the app from its fields (`env` tags).
APP_ENV = {
    "appID": "APP_ID",
    "appPort": "APP_PORT",
    "daprHTTPPort": "DAPR_HTTP_PORT",
    "daprGRPCPort": "DAPR_GRPC_PORT",
    "metricsPort": "DAPR_METRICS_PORT",
}
LOG_DESTINATIONS = {"console", "file", "fileAndConsole"}
# Flags deploy/stack sets that the CLI has no field for (README: what differs under the CLI).
RUNNER_ONLY = {
    "--dapr-internal-grpc-listen-address",
    "--metrics-listen-address",
    "--enable-metrics",
    "--log-as-json",  # the CLI's own global flag: `dapr run --log-as-json -f dapr.yaml`
    "--enable-mtls",  # the CLI adds these two itself for a config with spec.mtls.enabled
    "--sentry-address",
}


def doc() -> dict:
    return yaml.safe_load(RUNFILE.read_text())


def check_fields(where: str, section: dict, allowed: dict[str, tuple[type, str | None]]) -> None:
    for key, value in section.items():
        assert key in allowed, f"{where}: {key!r} is not a field of the CLI v1.18 run file"
        kind = allowed[key][0]
        assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), (
            f"{where}: {key} must be {kind.__name__}, not {value!r}"
        )
        if kind is list and key != "apps":
            assert all(isinstance(v, str) for v in value), f"{where}: {key} is a list of strings"
        if key == "env":
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()), (
                f"{where}: {key} maps strings to strings (quote numbers)"
            )
        if key.endswith("LogDestination"):
            assert value in LOG_DESTINATIONS, f"{where}: {key} {value!r}"


def test_every_field_is_one_the_cli_knows_with_its_type() -> None:
    run = doc()
    check_fields("top level", run, {k: (t, None) for k, t in TOP.items()})
    assert run["version"] == 1
    check_fields("common", run["common"], SHARED)
    for app in run["apps"]:
        check_fields(f"app {app.get('appID')}", app, APP_FIELDS)
        assert "appDirPath" in app, "the CLI refuses an app without appDirPath"


def cli_view(app: dict, common: dict, runfile: Path = RUNFILE) -> dict:
    """The app as the CLI merges it: app fields over common ones, envs merged, paths absolute
    (common's relative to the run file, the app's relative to its appDirPath)."""
    app_dir = (runfile.parent / app["appDirPath"]).resolve()
    merged = {**common, **app, "env": {**common.get("env", {}), **app.get("env", {})}}
    for key in ("configFilePath",):
        base = app_dir if key in app else runfile.parent
        merged[key] = str((base / merged[key]).resolve())
    base = app_dir if "resourcesPaths" in app else runfile.parent
    merged["resourcesPaths"] = [str((base / p).resolve()) for p in merged["resourcesPaths"]]
    merged["appDirPath"] = str(app_dir)
    return merged


def test_the_paths_the_cli_resolves_exist() -> None:
    run = doc()
    for app in run["apps"]:
        view = cli_view(app, run["common"])
        assert Path(view["appDirPath"]).is_dir()
        assert Path(view["configFilePath"]).is_file(), view["configFilePath"]
        for path in view["resourcesPaths"]:
            assert Path(path).is_dir(), path
        command = view["command"][0]
        assert (Path(view["appDirPath"]) / command).exists() or not command.startswith("."), (
            f"{command} (set up by deploy/setup/python.sh)"
        )


def test_runtime_path_is_where_deploy_setup_builds_daprd() -> None:
    """runtimePath names the cache entry of deploy/setup/dapr.sh (the default cache, as the CLI
    cannot read ORDER_PLATFORM_CACHE) for the pinned version."""
    runtime = doc()["common"]["runtimePath"]
    assert runtime.startswith("~/"), "the CLI expands ~, and a fixed home would not travel"
    version = pinned_versions()["DAPR_VERSION"]
    assert runtime == f"~/.cache/order-platform/dapr-{version}"
    default_daprd = Path(runtime).expanduser() / ".dapr" / "bin" / "daprd"
    assert dapr_bin("daprd").name == default_daprd.name
    assert dapr_bin("daprd").parent.parent.parent.name == default_daprd.parents[2].name


def cli_daprd_flags(view: dict) -> dict[str, list[str]]:
    """The flags (with their values) the CLI gives daprd for an app of the run file."""
    flags: dict[str, list[str]] = {}
    for key, value in view.items():
        flag = APP_FIELDS[key][1] if key in APP_FIELDS else None
        if flag is None or value in (None, "", False) or value == []:
            continue
        if isinstance(value, bool):
            flags[flag] = []
        elif isinstance(value, list):
            flags[flag] = [str(v) for v in value]
        else:
            flags[flag] = [str(value)]
    return flags


def parse_flags(argv: list[str]) -> dict[str, list[str]]:
    flags: dict[str, list[str]] = {}
    name = None
    for arg in argv[1:]:
        if arg.startswith("--"):
            name = arg
            flags.setdefault(name, [])
        elif name is not None:
            flags[name].append(arg)
    return flags


@pytest.fixture
def runner_pairs(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """deploy/stack's app and sidecar for each app of dapr.yaml (default profile), with tokens
    of a fake run: no stack is needed."""
    for name in ("TRACING_SAMPLING_RATE", "WORKFLOW_RETENTION", "GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    apps = load_runfile(RUNFILE, "sqlite")
    tokens = {a.app_id: Tokens("d", None if a.app_id in PUBLIC_APPS else "a") for a in apps}
    monkeypatch.setattr(services, "load_tokens", lambda: tokens)
    return {a.app_id: services.app_and_sidecar(a, "sqlite") for a in apps}


def test_cli_and_runner_start_each_daprd_with_the_same_ports_and_files(runner_pairs) -> None:
    run = doc()
    for app in run["apps"]:
        view = cli_view(app, run["common"])
        _app, sidecar = runner_pairs[app["appID"]]
        runner = parse_flags(sidecar.argv)
        expected = cli_daprd_flags(view)
        assert {k: v for k, v in runner.items() if k not in RUNNER_ONLY} == expected, app["appID"]


def test_cli_and_runner_give_each_app_the_same_ports(runner_pairs) -> None:
    run = doc()
    for app in run["apps"]:
        view = cli_view(app, run["common"])
        app_service, _sidecar = runner_pairs[app["appID"]]
        for key, variable in APP_ENV.items():
            assert app_service.env[variable] == str(view[key]), (app["appID"], variable)
        for variable, value in view["env"].items():
            assert app_service.env.get(variable) == value, (app["appID"], variable)


def readme_range(label: str) -> list[list[int]]:
    """The port ranges of a row of docs/operations.md's port table, e.g. 3500-3504 / 20100-20104."""
    row = next(
        ln for ln in (ROOT / "docs" / "operations.md").read_text().splitlines() if label in ln
    )
    cell = row.split("|")[2]
    ranges = []
    for part in cell.split("/"):
        low, _, high = part.strip().partition("-")
        ranges.append(list(range(int(low), int(high or low) + 1)))
    return ranges


def test_ports_are_the_readmes_table() -> None:
    apps = doc()["apps"]
    http, grpc, metrics = readme_range("their sidecars: HTTP / gRPC / metrics")
    (internal,) = readme_range("sidecars' internal gRPC")
    assert [a["daprHTTPPort"] for a in apps] == http
    assert [a["daprGRPCPort"] for a in apps] == grpc
    assert [a["metricsPort"] for a in apps] == metrics
    assert [a["daprInternalGRPCPort"] for a in apps] == internal
    listed = re.search(
        r"\| (\d+), (\d+), (\d+), (\d+), (\d+) \|", (ROOT / "docs" / "operations.md").read_text()
    )
    assert listed and [a["appPort"] for a in apps] == [int(p) for p in listed.groups()]


def test_the_cli_enables_mtls_for_every_sidecar_at_the_sentry_make_infra_starts() -> None:
    """The CLI adds --enable-mtls --sentry-address localhost:50001 when the app's Configuration
    says spec.mtls.enabled; without mTLS accessControl (defaultAction deny) refuses every call."""
    run = doc()
    assert CLI_SENTRY_PORT == 50001
    for app in run["apps"]:
        config = yaml.safe_load(Path(cli_view(app, run["common"])["configFilePath"]).read_text())
        assert config["spec"]["mtls"]["enabled"] is True, app["appID"]


def test_loopback_and_fixed_ports_for_every_sidecar() -> None:
    run = doc()
    assert run["common"]["apiListenAddresses"] == "127.0.0.1"
    for app in run["apps"]:
        view = cli_view(app, run["common"])
        for key in ("daprGRPCPort", "daprInternalGRPCPort", "metricsPort", "daprHTTPPort"):
            assert isinstance(view.get(key), int), f"{app['appID']}: {key} (else a random port)"
        assert view["placementHostAddress"].startswith("127.0.0.1:")
        assert view["schedulerHostAddress"].startswith("127.0.0.1:")
        assert view["daprdLogDestination"] == "file" and view["appLogDestination"] == "file"


def test_every_flag_the_cli_would_pass_is_one_the_built_daprd_has() -> None:
    """The flags come from the CLI's schema; the daprd built by deploy/setup/dapr.sh must know
    them (its --help lists every flag)."""
    daprd = dapr_bin("daprd")
    assert daprd.is_file(), f"{daprd}: run deploy/setup/dapr.sh"
    done = subprocess.run([str(daprd), "--help"], capture_output=True, text=True, timeout=30)
    known = set(re.findall(r"(--[a-z0-9-]+)", done.stdout + done.stderr))
    run = doc()
    for app in run["apps"]:
        missing = set(cli_daprd_flags(cli_view(app, run["common"]))) - known
        assert not missing, f"{app['appID']}: daprd has no {missing}"


def test_the_postgres_run_file_make_infra_writes(tmp_path: Path) -> None:
    """PROFILE=postgres under the CLI: a run file in RUN_DIR with every path absolute, the
    postgres components (as the runner picks them), each app's DATABASE_URL without a password
    (cli.env exports PGPASSWORD), and the same ports and flags as dapr.yaml."""
    runfile = tmp_path / "dapr.postgres.yaml"
    runfile.write_text(postgres_runfile())
    run = yaml.safe_load(runfile.read_text())
    check_fields("common", run["common"], SHARED)
    base = doc()
    runner = {a.app_id: a for a in load_runfile(RUNFILE, "postgres")}
    for app, original in zip(run["apps"], base["apps"], strict=True):
        check_fields(f"app {app['appID']}", app, APP_FIELDS)
        view = cli_view(app, run["common"], runfile)
        assert view["appDirPath"] == str(ROOT)
        assert view["resourcesPaths"] == [str(p) for p in runner[app["appID"]].resources_paths]
        assert all(Path(p).is_dir() for p in view["resourcesPaths"])
        assert view["resourcesPaths"][-1].endswith("components/postgres")
        expected = cli_daprd_flags(cli_view(original, base["common"]))
        expected["--resources-path"] = view["resourcesPaths"]
        assert cli_daprd_flags(view) == expected, app["appID"]
        if db := original.get("env", {}).get("DB_NAME"):
            assert view["env"]["DATABASE_URL"] == f"postgresql://postgres@127.0.0.1:5433/{db}"
    text = cli_env(Tokens("d", "a"), "PEM", "host=x password=p", postgres_password="p")
    assert "export PGPASSWORD=p" in text.splitlines()
