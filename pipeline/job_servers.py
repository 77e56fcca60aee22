"""Beam's Flink and Spark job servers, built once by Maven into ``.cache/jars`` (``make jars``).

Beam would download a job server jar from Maven Central on a run's first use;
``python -m pipeline.job_servers fetch [flink|spark]`` builds it once instead, and
``pipeline.runners.configure`` passes it to every Flink or Spark run that names none.

Which jar: Beam 2.77's Python SDK asks for the Flink 2.2 job server of Beam
2.77, but the Maven repository this project's machines reach serves no
``*-job-server`` shadow jar of any version, nor Beam 2.77's Java artifacts.
It does serve ``beam-runners-flink-1.19`` 2.62.0 with every dependency, and
that artifact holds the same job server driver, so ``fetch`` asks Maven to
build the same uber jar Beam publishes (services merged, main class set).
The portable Fn API is stable across these versions: the sample's santacoder
run gives byte-identical output through it (tests/pipeline/test_portable_runners.py).
A user who can reach the full Maven Central may pass Beam 2.77's own jar with
``--flink_job_server_jar``. Spark likewise: ``beam-runners-spark-3`` 2.62.0 with
Spark 3.2.2 (which the artifact leaves to the cluster, so the jar adds
spark-core, -streaming and -sql).

Beam-free, so that ``--help`` and ``make jars`` answer at once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cli.command import CliParser, run_cli

ROOT = Path(__file__).resolve().parents[1]
JAR_DIR = ROOT / ".cache" / "jars"


@dataclass(frozen=True)
class JobServer:
    """A Beam runner's job server, built by Maven from the runner artifact that holds its driver."""

    runner: str
    artifact: str
    version: str
    main_class: str
    runtime: tuple[tuple[str, str, str], ...] = ()  # (group, artifact, version) the runner leaves "provided"

    @property
    def runner_class(self) -> str:
        return f"{self.runner.capitalize()}Runner"

    @property
    def jar_option(self) -> str:
        return f"{self.runner}_job_server_jar"

    @property
    def jar_name(self) -> str:
        return f"{self.artifact}-job-server-{self.version}.jar"

    @property
    def jar(self) -> Path:
        return JAR_DIR / self.jar_name


FLINK = JobServer(
    runner="flink",
    artifact="beam-runners-flink-1.19",
    version="2.62.0",
    main_class="org.apache.beam.runners.flink.FlinkJobServerDriver",
)
SPARK = JobServer(
    runner="spark",
    artifact="beam-runners-spark-3",
    version="2.62.0",
    main_class="org.apache.beam.runners.spark.SparkJobServerDriver",
    runtime=tuple(
        ("org.apache.spark", f"spark-{part}_2.12", "3.2.2") for part in ("core", "streaming", "sql")
    ),
)
JOB_SERVERS = {FLINK.runner: FLINK, SPARK.runner: SPARK}
SLF4J_SIMPLE = (
    "org.slf4j",
    "slf4j-simple",
    "1.7.30",
)  # the job server's log lines (Beam's jar bundles one too)
SHADE_PLUGIN_VERSION = "3.6.0"


def job_server_pom(server: JobServer) -> str:
    """A Maven project whose ``package`` is the runner's job server uber jar, as Beam's build makes it."""
    group, artifact, version = SLF4J_SIMPLE
    runtime = "".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>\n"
        for g, a, v in server.runtime
    )
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>stackcurate</groupId>
  <artifactId>{server.runner}-job-server</artifactId>
  <version>1</version>
  <properties><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>
    <dependency>
      <groupId>org.apache.beam</groupId><artifactId>{server.artifact}</artifactId><version>{server.version}</version>
    </dependency>
    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version></dependency>
{runtime}  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-shade-plugin</artifactId>
        <version>{SHADE_PLUGIN_VERSION}</version>
        <executions>
          <execution>
            <phase>package</phase>
            <goals><goal>shade</goal></goals>
            <configuration>
              <finalName>job-server</finalName>
              <filters>
                <filter>
                  <artifact>*:*</artifact>
                  <excludes>
                    <exclude>META-INF/*.SF</exclude>
                    <exclude>META-INF/*.DSA</exclude>
                    <exclude>META-INF/*.RSA</exclude>
                  </excludes>
                </filter>
              </filters>
              <transformers>
                <transformer implementation="org.apache.maven.plugins.shade.resource.ServicesResourceTransformer"/>
                <transformer implementation="org.apache.maven.plugins.shade.resource.ManifestResourceTransformer">
                  <mainClass>{server.main_class}</mainClass>
                </transformer>
              </transformers>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
"""


def fetch(server: JobServer = FLINK) -> Path:
    """Build ``server``'s jar into ``JAR_DIR`` once (Maven resolves from Maven Central); a no-op when present."""
    if server.jar.exists():
        return server.jar
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"pipeline.job_servers: building the {server.runner} job server needs {' and '.join(missing)}"
        )
    JAR_DIR.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="job-server-", dir=JAR_DIR) as work:
        (Path(work) / "pom.xml").write_text(job_server_pom(server))
        subprocess.run(["mvn", "-B", "-q", "-f", str(Path(work) / "pom.xml"), "package"], check=True)
        built = Path(work) / "target" / "job-server.jar"
        built.rename(server.jar)  # same filesystem: a reader never sees half a jar
    size = server.jar.stat().st_size / 2**20
    print(f"{server.jar}: {size:.0f} MiB in {time.time() - start:.0f} s", file=sys.stderr)
    return server.jar


def build_parser() -> CliParser:
    parser = CliParser(
        prog="python -m pipeline.job_servers", description="Build a Beam job server jar once (make jars)."
    )
    parser.add_argument(
        "command", choices=["fetch"], help="build the jar into .cache/jars unless it is there"
    )
    parser.add_argument("runner", nargs="?", default=FLINK.runner, choices=sorted(JOB_SERVERS))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(fetch(JOB_SERVERS[args.runner]))
    return 0


if __name__ == "__main__":
    run_cli(main, "pipeline.job_servers")
