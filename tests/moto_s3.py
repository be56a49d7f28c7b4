"""A real S3 API server for tests: ``moto_server -H 127.0.0.1 -p PORT`` (moto[server]), a process
of its own stopped by its PID.  Any access key works against it; buckets are made per test
(:meth:`MotoS3.bucket`), so tests sharing the session's server never see each other's objects.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from mlws_testing import stop_group

#: the credentials every client of the test server uses (moto accepts any)
KEY, SECRET = "mlws-test-key", "mlws-test-secret-value-123"


class MotoS3:
    """One moto server: ``endpoint`` (``http://127.0.0.1:PORT``), ``credentials`` (the JSON a
    datastore's secret holds), ``env`` (the AWS variables an artifact store on it reads)."""

    def __init__(self, port: int):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.folder = Path(tempfile.mkdtemp(prefix="mlws-moto-"))
        self.proc: subprocess.Popen | None = None
        self.credentials = f'{{"key": "{KEY}", "secret": "{SECRET}"}}'
        self.env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self) -> "MotoS3":
        server = Path(sys.executable).parent / "moto_server"
        log = open(self.folder / "moto.log", "ab")
        # its request recorder (what tests count requests with) writes into its own folder
        env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(self.folder / "recording")}
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.folder, env=env)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log()[-2000:]}")
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/data.json", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not answer within 60 s")

    def log(self) -> str:
        return (self.folder / "moto.log").read_text(errors="replace")

    def fs(self):
        """A plain s3fs filesystem on the server (what a test checks the bucket with)."""
        import s3fs

        return s3fs.S3FileSystem(client_kwargs={"endpoint_url": self.endpoint}, key=KEY,
                                 secret=SECRET, skip_instance_cache=True, use_listings_cache=False)

    def bucket(self, prefix: str = "t") -> str:
        """A new empty bucket's name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.fs().mkdir(name)
        return name

    def url(self, bucket: str, path: str = "") -> str:
        """``s3://bucket/path?endpoint_url=...``: a datastore's or an artifact store's URL here."""
        return f"s3://{bucket}{'/' + path if path else ''}?endpoint_url={self.endpoint}"

    def _recorder(self, what: str, method: str = "POST") -> bytes:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{what}", method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.read()

    @contextmanager
    def recorded(self):
        """The requests the server receives inside the block: ``[(method, path)]`` (moto's
        request recorder)."""
        self._recorder("reset-recording")
        self._recorder("start-recording")
        seen: list[tuple[str, str]] = []
        try:
            yield seen
        finally:
            self._recorder("stop-recording")
            for line in self._recorder("download-recording", "GET").decode().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    seen.append((entry["method"], entry["url"].split("?")[0]))
            self._recorder("reset-recording")

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
        self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)
