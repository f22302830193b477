"""Infrastructure services of the local stack: Kafka (single KRaft node), Zipkin, PostgreSQL.

Binaries come from the set-up scripts: deploy/setup/kafka.sh, zipkin.sh and postgres.sh.
Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from deploy.stack.paths import pinned_versions
from deploy.stack.process import Service, http_ok
from deploy.stack.secrets import postgres_password

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9095  # not the usual 9093, which another component of the stack uses
ZIPKIN_PORT = 9411
POSTGRES_PORT = 5433  # not 5432, so a system PostgreSQL can keep running

TOPICS = [
    "reserve-stock",
    "release-stock",
    "stock-replies",
    "order-confirmed",
    "order-cancelled",
    "dead-letters",
]
# At least as many partitions as consumers per group: the instances of a service form one
# consumer group (REPLICAS, deploy/stack/replicas.py: MAX_REPLICAS); a consumer without a
# partition would idle.
TOPIC_PARTITIONS = 4
DATABASES = ["orders", "inventory", "payments", "notifications", "dapr_state"]

HOST = "127.0.0.1"
JAVA = shutil.which("java") or "java"
# Kafka's command-line tools are short-lived: small heap, quick start-up.
TOOL_JVM = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


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


def _kafka_admin() -> AdminClient:
    # A JVM command-line tool takes seconds to start on this 2-core machine; librdkafka's admin
    # client answers in milliseconds. Its own logging is off: failures come back as exceptions.
    return AdminClient({"bootstrap.servers": f"{HOST}:{KAFKA_PORT}", "log_level": 0})


def kafka_answers() -> bool:
    """True once the broker serves metadata requests."""
    try:
        _kafka_admin().list_topics(timeout=2)
    except KafkaException:
        return False
    return True


def kafka_create_topics(topics: list[str], partitions: int) -> dict[str, KafkaError | None]:
    """Creates the topics (replication factor 1); returns the error for each topic, or None."""
    admin = _kafka_admin()  # kept until every answer is in: destroying it cancels them
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics],
        request_timeout=15,
    )
    errors: dict[str, KafkaError | None] = {}
    for topic, future in futures.items():
        try:
            future.result()
            errors[topic] = None
        except KafkaException as exc:
            errors[topic] = exc.args[0]
    return errors


def kafka_grow_topics(topics: list[str], partitions: int) -> list[str]:
    """Gives each existing topic with fewer partitions `partitions` (a data directory of a run
    made with fewer); returns the topics grown. Kafka only adds partitions, never removes."""
    admin = _kafka_admin()
    metadata = admin.list_topics(timeout=10)
    found = metadata.topics
    short = [t for t in topics if t in found and len(found[t].partitions) < partitions]
    if not short:
        return []
    futures = admin.create_partitions(
        [NewPartitions(t, partitions) for t in short], request_timeout=15
    )
    for future in futures.values():
        future.result()
    return short


def _kafka_properties(data_dir: Path, chaos_listener: tuple[int, int] | None) -> str:
    listeners = f"PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}"
    advertised, protocols = listeners, "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if chaos_listener:  # chaos mode: clients on this listener are told to come back via the proxy
        port, proxy_port = chaos_listener
        listeners += f",CHAOS://{HOST}:{port}"
        advertised += f",CHAOS://{HOST}:{proxy_port}"
        protocols += ",CHAOS:PLAINTEXT"
    return f"""# Written by deploy/stack/infra.py: one KRaft node, combined broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{KAFKA_CONTROLLER_PORT}
listeners={listeners}
advertised.listeners={advertised}
listener.security.protocol.map={protocols}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={data_dir}
num.partitions={TOPIC_PARTITIONS}
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# 50 by default; a few are plenty here and make the first consumer group start faster.
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# 128 MiB of heap by default, for compacting topics; the only compacted one here is Kafka's own
# offsets topic, a few MiB.
log.cleaner.dedupe.buffer.size=16777216
"""


def kafka_tool_argv(kafka_home: Path, main_class: str, *args: str) -> list[str]:
    """A command line for one of Kafka's tools, e.g. org.apache.kafka.tools.TopicCommand."""
    return [
        JAVA,
        *TOOL_JVM,
        "-Dlog4j2.level=WARN",
        "-cp",
        f"{kafka_home}/libs/*",
        main_class,
        *args,
    ]


def kafka_cluster_id() -> str:
    """A random cluster id as Kafka writes them (URL-safe base64 of 16 bytes), never starting
    with "-": the storage tool would take such an id for an option (as Kafka's own
    Uuid.randomUuid avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _kafka(run_dir: Path, home: Path, chaos_listener: tuple[int, int] | None) -> Service:
    work = run_dir / "kafka"
    data = work / "data"
    props = work / "server.properties"

    def prepare() -> None:
        if not (home / "libs").is_dir():
            raise RuntimeError(f"Kafka is not installed in {home}: run deploy/setup/kafka.sh")
        work.mkdir(parents=True, exist_ok=True)
        props.write_text(_kafka_properties(data, chaos_listener))
        # The storage tool writes meta.properties last, so without it the directory is leftovers.
        if not (data / "meta.properties").exists():
            shutil.rmtree(data, ignore_errors=True)
            cluster_id = kafka_cluster_id()
            fmt = ["format", "--standalone", "-t", cluster_id, "-c", str(props)]
            _run("kafka storage format", kafka_tool_argv(home, "kafka.tools.StorageTool", *fmt))

    def after_ready() -> None:
        # Retried for a while: just after start the broker may still be fenced (no broker for
        # the replicas yet).
        pending, deadline = list(TOPICS), time.monotonic() + 60
        while True:
            errors = kafka_create_topics(pending, TOPIC_PARTITIONS)
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
            grown = kafka_grow_topics(TOPICS, TOPIC_PARTITIONS)
        except KafkaException as exc:
            raise RuntimeError(f"could not add Kafka partitions: {exc.args[0]}") from exc
        if grown:
            print(f"    kafka: topics {', '.join(grown)} now have {TOPIC_PARTITIONS} partitions")

    return Service(
        name="kafka",
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
        log=run_dir / "logs" / "kafka.log",
        cwd=work,
        ready=kafka_answers,
        ports=[KAFKA_PORT, KAFKA_CONTROLLER_PORT] + ([chaos_listener[0]] if chaos_listener else []),
        prepare=prepare,
        after_ready=after_ready,
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
    profile: str, run_dir: Path, cache_dir: Path, kafka_chaos_listener: tuple[int, int] | None
) -> list[Service]:
    """kafka_chaos_listener: (port, advertised proxy port) of Kafka's extra chaos-mode listener."""
    versions = pinned_versions()
    kafka_home = cache_dir / f"kafka-{versions['KAFKA_VERSION']}"
    zipkin_home = cache_dir / f"zipkin-{versions['ZIPKIN_VERSION']}"
    services = [_kafka(run_dir, kafka_home, kafka_chaos_listener), _zipkin(run_dir, zipkin_home)]
    if profile == "postgres":
        services.append(_postgres(run_dir))
    return services
