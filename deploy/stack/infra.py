"""Infrastructure services of the local stack: Kafka (deploy/stack/kafka.py), Zipkin, PostgreSQL.

Binaries come from the set-up scripts: deploy/setup/kafka.sh, zipkin.sh and postgres.sh.
Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException

from deploy.stack.kafka import (
    HOST,
    TOPIC_PARTITIONS,
    TOPICS,
    Broker,
    broker_properties,
    cluster,
    format_argv,
    lag_exporter_service,
    work_dir,
)
from deploy.stack.kafka_admin import (
    JAVA,
    kafka_answers,
    kafka_create_topics,
    kafka_grow_topics,
    kafka_tool_argv,
)
from deploy.stack.paths import pinned_versions
from deploy.stack.process import Service, http_ok
from deploy.stack.secrets import postgres_password

ZIPKIN_PORT = 9411
POSTGRES_PORT = 5433  # not 5432, so a system PostgreSQL can keep running

DATABASES = ["orders", "inventory", "payments", "notifications", "dapr_state"]


def _run(
    what: str, argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None
) -> str:
    """Runs a tool; a secret goes in `env` or `stdin`, never in `argv` (anyone may read argv)."""
    full_env = {**os.environ, **env} if env else None
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=full_env, input=stdin
    )
    if done.returncode != 0:
        out = (done.stdout + done.stderr).strip()[-2000:]
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n{out}")
    return done.stdout


# --- Kafka -------------------------------------------------------------------------------------


def _create_topics(count: int) -> None:
    # Retried for a while: just after start a broker may still be fenced, or the cluster have
    # fewer live brokers than the replication factor.
    pending, deadline = list(TOPICS), time.monotonic() + 60
    while True:
        errors = kafka_create_topics(pending, TOPIC_PARTITIONS, count)
        pending = [
            t for t, e in errors.items() if e and e.code() != KafkaError.TOPIC_ALREADY_EXISTS
        ]
        if not pending:
            break
        if time.monotonic() > deadline:
            failed = {t: errors[t].str() for t in pending}  # type: ignore[union-attr]
            raise RuntimeError(f"could not create Kafka topics: {failed}")
        time.sleep(0.5)
    try:
        grown = kafka_grow_topics(TOPICS, TOPIC_PARTITIONS, count)
    except KafkaException as exc:
        raise RuntimeError(f"could not add Kafka partitions: {exc.args[0]}") from exc
    if grown:
        print(f"    kafka: topics {', '.join(grown)} now have {TOPIC_PARTITIONS} partitions")


def _kafka(run_dir: Path, home: Path, broker: Broker, chaos: bool) -> Service:
    work = work_dir(run_dir, broker)
    data = work / "data"
    props = work / "server.properties"

    def prepare() -> None:
        if not (home / "libs").is_dir():
            raise RuntimeError(f"Kafka is not installed in {home}: run deploy/setup/kafka.sh")
        work.mkdir(parents=True, exist_ok=True)
        props.write_text(broker_properties(broker, data, chaos))
        # The storage tool writes meta.properties last, so without it the directory is leftovers.
        if not (data / "meta.properties").exists():
            shutil.rmtree(data, ignore_errors=True)
            fmt = format_argv(broker, run_dir, props)
            _run("kafka storage format", kafka_tool_argv(home, "kafka.tools.StorageTool", *fmt))

    ports = [broker.port, broker.controller_port] + ([broker.chaos_port] if chaos else [])
    return Service(
        name=broker.name,
        argv=[
            JAVA,
            # A fixed heap, touched at start (Kafka's own start script fixes it too, at 1 GiB):
            # its memory is then what it stays, not a heap growing towards its cap all through
            # a long run (378 -> 458 MiB over a 20,000-order soak with 128-512 MiB).
            "-Xms256m",
            "-Xmx256m",
            "-XX:+AlwaysPreTouch",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            # C1 only: on a fresh broker at 15 orders/s, C2's compiler threads took 44 % of
            # Kafka's CPU (2.6 of 6.0 s in 32 s); C1's code is slower but amply fast for this
            # load (docs/measurements.md). A long-running production broker keeps C2.
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dlog4j2.configurationFile={home}/config/log4j2.properties",
            "-cp",
            f"{home}/libs/*",
            "kafka.Kafka",
            str(props),
        ],
        log=run_dir / "logs" / f"{broker.name}.log",
        cwd=work,
        # Ready once this broker is registered and unfenced in the cluster's metadata.
        ready=lambda: kafka_answers(broker.count, broker.node_id),
        ports=ports,
        prepare=prepare,
        # Broker 1 makes the topics (the others are started in the same phase; it waits for them).
        after_ready=(lambda: _create_topics(broker.count)) if broker.node_id == 1 else None,
        ready_timeout=120.0,
    )


# --- Zipkin ------------------------------------------------------------------------------------


def _zipkin(run_dir: Path, home: Path) -> Service:
    jar = home / "zipkin.jar"

    def prepare() -> None:
        if not jar.is_file():
            raise RuntimeError(f"Zipkin is not installed in {home}: run deploy/setup/zipkin.sh")

    return Service(
        name="zipkin",
        # Spring Boot replaces a list property as a whole, so the port entry is given in full.
        argv=[
            JAVA,
            "-Xms64m",
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",  # C1 only, as Kafka: no C2 compiler threads at start-up
            "-Djava.net.preferIPv4Stack=true",
            "-jar",
            str(jar),
            f"--armeria.ports[0].ip={HOST}",
            f"--armeria.ports[0].port={ZIPKIN_PORT}",
            "--armeria.ports[0].protocols[0]=http",
        ],
        log=run_dir / "logs" / "zipkin.log",
        cwd=home,
        # In-memory storage keeps 500k spans by default, more than the 256 MB heap holds.
        env={"STORAGE_TYPE": "mem", "MEM_MAX_SPANS": "50000", "QUERY_PORT": str(ZIPKIN_PORT)},
        ready=lambda: http_ok(f"http://{HOST}:{ZIPKIN_PORT}/health"),
        ports=[ZIPKIN_PORT],
        prepare=prepare,
    )


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server installed (deploy/setup/postgres.sh installs one)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not found:
        raise RuntimeError("PostgreSQL server not found: run deploy/setup/postgres.sh")
    return found[-1].parent


def _chown(path: Path, user: str) -> None:
    shutil.chown(path, user, user)
    path.chmod(0o700)


# Password (SCRAM) authentication for every connection, TCP and the unix socket alike.
PG_HBA = """# Written by deploy/stack/infra.py at every start: password authentication only.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
"""


def password_only(hba_text: str) -> bool:
    """True if every rule of a pg_hba.conf asks for a SCRAM password (no trust, peer, md5...)."""
    rules = [ln.split() for ln in hba_text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(rules) and all(rule[-1] == "scram-sha-256" for rule in rules)


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _postgres(run_dir: Path) -> Service:
    """PostgreSQL with password authentication: the superuser's password is the one in
    RUN_DIR/secrets/postgres-password (deploy/stack/secrets.py), given to a new data directory
    by initdb. A data directory of an older run (trust authentication), or one whose password
    file was replaced, is migrated in place before the server starts: the password is set in
    single-user mode and pg_hba.conf rewritten. Its data are kept."""
    user = "postgres"
    bin_dir = postgres_bin_dir()
    work = run_dir / "postgres"  # also the unix socket directory
    data = work / "data"
    # sha256 of the password the data directory was given (never the password itself).
    applied = work / "password.sha256"
    connect = ["-h", HOST, "-p", str(POSTGRES_PORT), "-U", "postgres"]
    psql = [str(bin_dir / "psql"), *connect, "-d", "postgres", "-XqtA", "-v", "ON_ERROR_STOP=1"]

    def as_user(*argv: str) -> list[str]:
        return ["runuser", "-u", user, "--", *argv]

    def initdb(password: str) -> None:
        # initdb into a side directory, renamed when complete, so a rerun never sees half of one.
        partial = work / "data.partial"
        shutil.rmtree(partial, ignore_errors=True)
        pwfile = work / "initdb-password"  # the postgres user's only, removed right after
        pwfile.unlink(missing_ok=True)
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(password + "\n")
        shutil.chown(pwfile, user, user)
        options = "-U postgres --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8"
        try:
            initdb_argv = [str(bin_dir / "initdb"), "-D", str(partial), f"--pwfile={pwfile}"]
            _run("initdb", as_user(*initdb_argv, *options.split(), "--no-instructions"))
        finally:
            pwfile.unlink(missing_ok=True)
        partial.rename(data)

    def set_password(password: str) -> None:
        """Gives the superuser `password` in single-user mode (the server is not running).
        The statements go in on stdin, one a line: no argument list shows the password, and an
        error message quoting it is cut from what is reported."""
        if not password.replace("-", "").replace("_", "").isalnum():
            raise RuntimeError("the PostgreSQL password file holds unexpected characters")
        single = [str(bin_dir / "postgres"), "--single", "-D", str(data), "postgres"]
        statements = (
            "SET password_encryption = 'scram-sha-256'\n"
            f"ALTER ROLE postgres PASSWORD '{password}'\n"
        )
        try:
            _run("postgres --single (set the password)", as_user(*single), stdin=statements)
        except RuntimeError as err:
            raise RuntimeError(str(err).replace(password, "<password>")) from None

    def prepare() -> None:
        work.mkdir(parents=True, exist_ok=True)
        _chown(work, user)
        if subprocess.run(as_user("test", "-w", str(work))).returncode != 0:
            raise RuntimeError(
                f"user {user} cannot reach {work}: every parent directory "
                "must be searchable by others (chmod o+x)"
            )
        password = postgres_password()
        hba = data / "pg_hba.conf"
        if not (data / "PG_VERSION").exists():
            initdb(password)
        elif (
            password_only(hba.read_text())
            and applied.is_file()
            and applied.read_text() == _digest(password)
        ):
            return
        else:
            print(
                f"WARNING [postgres]: {data} was not set up for this password (an older run's "
                "trust authentication, or a new password file): setting the superuser's "
                "password and password-only authentication; the data are kept",
                flush=True,
            )
            set_password(password)
        hba.write_text(PG_HBA)
        shutil.chown(hba, user, user)
        hba.chmod(0o600)
        applied.write_text(_digest(password))

    def after_ready() -> None:
        env = {"PGPASSWORD": postgres_password()}
        existing = _run("psql", [*psql, "-c", "SELECT datname FROM pg_database"], env).split()
        for db in DATABASES:
            if db not in existing:
                _run("psql", [*psql, "-c", f'CREATE DATABASE "{db}"'], env)

    return Service(
        name="postgres",
        # -h: TCP on 127.0.0.1 only; -k: unix socket in run_dir, not /var/run/postgresql.
        argv=[str(bin_dir / "postgres"), "-D", str(data), "-p", str(POSTGRES_PORT)]
        + ["-h", HOST, "-k", str(work)],
        log=run_dir / "logs" / "postgres.log",
        cwd=work,
        # pg_isready needs no password: a server that asks for one is accepting connections.
        ready=lambda: subprocess.run([str(bin_dir / "pg_isready"), "-q", *connect]).returncode == 0,
        ports=[POSTGRES_PORT],
        prepare=prepare,
        after_ready=after_ready,
        user=user,  # PostgreSQL refuses to run as root; the runner drops to this user
    )


def infra_services(
    profile: str, run_dir: Path, cache_dir: Path, chaos: bool, kafka_brokers: int = 1
) -> list[Service]:
    """chaos: each Kafka broker gets its extra chaos-mode listener (deploy/stack/chaos.py)."""
    versions = pinned_versions()
    kafka_home = cache_dir / f"kafka-{versions['KAFKA_VERSION']}"
    zipkin_home = cache_dir / f"zipkin-{versions['ZIPKIN_VERSION']}"
    services = [_kafka(run_dir, kafka_home, b, chaos) for b in cluster(kafka_brokers)]
    services.append(_zipkin(run_dir, zipkin_home))
    services.append(lag_exporter_service(run_dir / "logs", kafka_brokers))
    if profile == "postgres":
        services.append(_postgres(run_dir))
    return services
