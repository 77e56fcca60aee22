"""The documented command with every path on gs://, as Dataflow users run it, through Beam's own GCS
filesystem (``GcsIO`` and the google-cloud-storage client) against a local GCS server
(gcp-storage-emulator on 127.0.0.1, found by the client through ``STORAGE_EMULATOR_HOST``).

GCS is not S3 (``test_object_store.py``): objects are written by resumable uploads, removed in batches,
renamed by a rewrite and a delete, and every process authenticates before its first request. A
service-account key made for the test, whose token endpoint is a small server here, lets each process
(the launcher, the warm workers' parent, the workers) authenticate as on Dataflow without reaching
Google: with no credentials at all, Beam retries the lookup for ~30 s in every process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.pipeline.helpers import file_bytes, free_port, run_command

emulator = pytest.importorskip("gcp_storage_emulator.server")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")

BUCKET = "stackcurate-test"
OUT = f"gs://{BUCKET}/out"


class _Tokens(BaseHTTPRequestHandler):
    """The OAuth token endpoint of the test's service account: any signed request gets a token."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"access_token": "local", "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _service_account(token_uri: str, folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = folder / "service-account.json"
    account = {
        "type": "service_account",
        "project_id": "stackcurate-test",
        "private_key_id": "local",
        "private_key": key.decode(),
        "client_email": "curator@stackcurate-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(account))
    return path


@pytest.fixture(scope="module")
def gcs(sample_dir: Path, shared_dir: Path, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The environment that points the GCS client here, with the sample's input files and the opt-out
    list uploaded (set in this process too, for reading the output back)."""
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)  # a warning per response
    port = free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    tokens = ThreadingHTTPServer(("127.0.0.1", 0), _Tokens)
    threading.Thread(target=tokens.serve_forever, daemon=True).start()
    account = _service_account(f"http://127.0.0.1:{tokens.server_port}/token", tmp_path_factory.mktemp("gcs"))
    env = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "GOOGLE_APPLICATION_CREDENTIALS": str(account),
    }
    try:  # the emulator's thread is not a daemon: left running, it would keep pytest from exiting
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            from pipeline import store

            for path in sorted([*sample_dir.glob("*.parquet"), *sample_dir.glob("*.jsonl")]):
                store.upload(path, f"gs://{BUCKET}/the-stack/data/{path.name}")
            store.upload(shared_dir / "optout" / "optouts.jsonl", f"gs://{BUCKET}/lists/optouts.jsonl")
            yield env
    finally:
        tokens.shutdown()
        server.stop()


@pytest.fixture(scope="module")
def gcs_run(gcs: dict[str, str], shared_dir: Path) -> list[str]:
    """santacoder with every path on gs:// but the shipped benchmarks, on two warm local workers (each
    process with its own GCS client); the local reference run's options otherwise (``full_run``)."""
    args = [
        f"--input=gs://{BUCKET}/the-stack/data",
        f"--output={OUT}",
        f"--optout_list=gs://{BUCKET}/lists/optouts.jsonl",
        f"--benchmarks_dir={shared_dir / 'benchmarks'}",
        "--no_report",
        "--quiet",
        "--preset=santacoder",
        "--direct_num_workers=2",
    ]
    done = run_command(args, gcs)
    assert done.returncode == 0, done.stderr[-3000:]
    return args


def _output_files() -> list[str]:
    """Every object under the output prefix, relative to it."""
    from pipeline import store

    return sorted(store.relative(path, OUT) for path in store.list_files(OUT))


def test_two_workers_on_gcs_write_the_local_runs_bytes_and_nothing_else(gcs_run, full_run):
    from pipeline import store

    names = _output_files()
    assert [n for n in names if "/" not in n] == ["stats.json"]  # no INCOMPLETE marker, no staging
    assert {n.split("/")[0] for n in names if "/" in n} == {"data", "removed", "modified"}  # no _work/
    on_gcs = {n: store.read_bytes(store.join(OUT, n)) for n in names if n.endswith(".parquet")}
    assert on_gcs == file_bytes(full_run)


def test_ledger_and_stats_read_back_from_gcs(gcs_run, full_run):
    from pipeline.output_files import load_stats
    from release.verify import check_ledger

    assert check_ledger(OUT) == []
    stats, local = load_stats(OUT), json.loads((full_run / "stats.json").read_text())
    assert stats["input"]["schemes"] == ["gs"]
    assert stats["input"]["locations"] == [f"gs://{BUCKET}/the-stack/data"]
    assert stats["runner"] == "FnApiRunner (local, 2 worker processes)"
    for part in ("input", "output"):
        assert stats[part]["docs"] == local[part]["docs"] > 0
    counts = [{k: v for k, v in stage.items() if k != "cpu_s"} for stage in stats["stages"]]
    assert counts == [{k: v for k, v in stage.items() if k != "cpu_s"} for stage in local["stages"]]


def test_a_rerun_into_the_same_prefix_replaces_the_output(gcs_run, gcs):
    from release.verify import check_ledger

    done = run_command([*gcs_run, "--stages=optout"], gcs)
    assert done.returncode == 0, done.stderr[-3000:]
    names = _output_files()
    assert {n.split("/")[1] for n in names if n.startswith("removed/")} == {"optout", "validate"}
    assert not [n for n in names if n.startswith(("_work", "INCOMPLETE"))]
    assert check_ledger(OUT) == []
