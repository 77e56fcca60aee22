"""The one place that chooses and configures the Beam runner.

Without ``--runner`` the job runs in this process on Beam's FnApiRunner, which
never downloads anything (plain DirectRunner would fetch Prism). With
``--runner=FlinkRunner`` Beam starts a Flink job server from a jar; Beam would
download that jar from Maven Central on first use, so instead the project's
setup builds it once (``make jars``, i.e. ``python -m pipeline.runners fetch``)
into ``.cache/jars`` and :func:`configure` passes it as
``--flink_job_server_jar`` whenever the user gave none: no run downloads.

Which jar: Beam 2.77's Python SDK asks for the Flink 2.2 job server of Beam
2.77, but the Maven repository this project's machines reach serves no
``*-job-server`` shadow jar of any version, nor Beam 2.77's Java artifacts.
It does serve ``beam-runners-flink-1.19`` 2.62.0 with every dependency, and
that artifact holds the same job server driver, so ``fetch`` asks Maven to
build the same uber jar Beam publishes (services merged, main class set).
The portable Fn API is stable across these versions: the sample's santacoder
run gives byte-identical output through it (tests/pipeline/test_flink.py).
A user who can reach the full Maven Central may pass Beam 2.77's own jar with
``--flink_job_server_jar``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apache_beam.options.pipeline_options import (
    FlinkRunnerOptions,
    JobServerOptions,
    PipelineOptions,
    StandardOptions,
)

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
JOB_SERVERS = {FLINK.runner: FLINK}
SLF4J_SIMPLE = (
    "org.slf4j",
    "slf4j-simple",
    "1.7.30",
)  # the job server's log lines (Beam's jar bundles one too)
SHADE_PLUGIN_VERSION = "3.6.0"
# Flink reads the submitted job back with Java serialisation, which recurses through nested objects; the
# santacoder batch graph nests deeper than the JVM's default 1 MB thread stack allows (StackOverflowError in
# ObjectInputStream as the job starts). 16 MB runs it.
JOB_SERVER_STACK = "-Xss16m"


def runner_name(options: PipelineOptions) -> str | None:
    """``flink`` for ``FlinkRunner``, ``flink`` or a dotted class path ending in FlinkRunner; None for local."""
    runner = options.view_as(StandardOptions).runner
    if runner is None:
        return None
    name = str(runner).rsplit(".", 1)[-1].lower()
    return name.removesuffix("runner") or name


def configure(options: PipelineOptions) -> None:
    """Point a Flink job at the project's job server jar unless the user named one; fail before any work."""
    if runner_name(options) != FLINK.runner:
        return
    jvm = options.view_as(JobServerOptions)
    if not any(prop.startswith("-Xss") for prop in jvm.job_server_jvm_properties):
        jvm.job_server_jvm_properties = [*jvm.job_server_jvm_properties, JOB_SERVER_STACK]
    flink = options.view_as(FlinkRunnerOptions)
    if flink.flink_job_server_jar:
        return
    if not FLINK.jar.exists():
        raise SystemExit(
            f"pipeline.run: FlinkRunner needs Beam's Flink job server jar ({FLINK.jar}); build it once with "
            "`make jars` (python -m pipeline.runners fetch; needs Java 11+ and Maven) or pass "
            "--flink_job_server_jar"
        )
    flink.flink_job_server_jar = str(FLINK.jar)


def make_runner(options: PipelineOptions) -> Any:
    """The runner object for ``beam.Pipeline``: FnApiRunner locally, else None (Beam builds it from options)."""
    if runner_name(options) is None:
        return local_runner(options)
    return None


def local_runner(options: PipelineOptions) -> Any:
    """FnApiRunner whose worker processes (``multi_processing``) get the job's options, as a portable
    runner's do: without them Beam's filesystems there lack e.g. the S3 endpoint and keys."""
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    info = beam_provision_api_pb2.ProvisionInfo(
        retrieval_token="unused-retrieval-token",
        pipeline_options=JobServiceHandle.encode_pipeline_options(options.get_all_options()),
    )
    return FnApiRunner(provision_info=ExtendedProvisionInfo(info))


def job_server_pom(server: JobServer) -> str:
    """A Maven project whose ``package`` is the runner's job server uber jar, as Beam's build makes it."""
    group, artifact, version = SLF4J_SIMPLE
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
  </dependencies>
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
            f"pipeline.runners: building the {server.runner} job server needs {' and '.join(missing)}"
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
        prog="python -m pipeline.runners", description="Build a Beam job server jar once (make jars)."
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
    run_cli(main, "pipeline.runners")
