"""A real ``jupyter lab`` on 127.0.0.1 serving a workspace full of runs, and headless Chromium.

The server is started once per session, in a temporary HOME and Jupyter dirs so nothing leaks in
or out; Chromium is Debian's (``apt-get install chromium``), driven by Python Playwright with
``executable_path`` (never ``playwright install``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from mlws_testing import start_jupyter, stop_jupyter

from jupyter_mlws.quickstart import lab_url

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
#: runs in the workspace: SWEEP_RUNS in "sweep" (lr cycling over LRS) and one long run in "long"
SWEEP_RUNS = 240
LRS = ("0.01", "0.05", "0.2")
LONG_POINTS = 10_000


def lab_api(lab, method: str, path: str, body=None):
    """Call an API path with the token; returns (status, JSON or None)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"{lab['url']}mlws/api/{path}", data=data, method=method,
                                 headers={"Authorization": f"token {lab['token']}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _fill(root: Path) -> dict:
    """Create the workspace's runs through the SDK; return what the tests expect to see."""
    from jupyter_mlws import Workspace

    with Workspace.create(root / "ws") as ws:
        sweep = ws.experiment("sweep")
        for i in range(SWEEP_RUNS):
            with sweep.start_run(f"sweep-{i:03d}", snapshot=False, outputs=None) as run:
                run.log_params({"lr": LRS[i % len(LRS)], "seed": i})
                run.log_batch("acc", [i / SWEEP_RUNS, (i + 0.5) / SWEEP_RUNS])
        compared = []  # two runs for the compare view, with environments that differ in numpy
        for lr, numpy in (("0.1", "2.1.0"), ("0.2", "2.2.0")):
            env = root / f"env-{lr}.json"
            env.write_text(json.dumps({"python": "3.11.7 (main)", "packages_hash": numpy,
                                       "packages": [f"numpy=={numpy}", "pandas==2.2.0"]}))
            with ws.experiment("cmp").start_run(f"cmp-{lr}", snapshot=False, outputs=None) as run:
                run.log_params({"lr": lr, "seed": "1"})
                run.log_batch("loss", [float(lr) * k for k in (3, 2, 1)])
                run.upload_file("environment.json", env)
                compared.append(run.id)
        with ws.experiment("long").start_run("long-run", snapshot=False, outputs=None) as run:
            run.log_params({"lr": "0.001"})
            run.log_batch("loss", [1.0 / (1 + 0.01 * s) for s in range(LONG_POINTS)])
            run.log_batch("val_loss", [1.2 / (1 + 0.01 * s) for s in range(0, LONG_POINTS, 100)],
                          steps=range(0, LONG_POINTS, 100))
            summary = root / "summary.json"
            summary.write_text('{"loss": 0.0099}')
            run.upload_file("summary.json", summary)
            long_id = run.id
        _register_iris(ws, root)
    return {"total": SWEEP_RUNS + 3, "compared": compared, "lr_05": sum(1 for i in range(SWEEP_RUNS) if LRS[i % 3] == "0.05"),
            "long_id": long_id}


def _register_iris(ws, root: Path) -> None:
    """A registered sklearn model ``iris:1`` and its scoring script ``score.py`` in the server's folder."""
    from mlws_testing import iris_model

    iris_model(root / "iris-model")
    ws.register_model("iris", root / "iris-model")
    shutil.copy(Path(__file__).parents[1] / "endpoint_scripts" / "score.py", root / "ws" / "score.py")


def _stop_endpoints(path: Path) -> None:
    """Stop and remove every endpoint the tests deployed (their servers outlive jupyter lab)."""
    from jupyter_mlws import Workspace

    with Workspace.open(path) as ws:
        for item in ws.endpoints.list():
            ws.endpoints.delete(item["name"])


#: the server config that names whoever signs in with the token "alice" (as on a team's server, a
#: person's name: the pages show who created what), not Jupyter's anonymous user with a random name
NAMED_USER = """
from jupyter_server.auth.identity import IdentityProvider, User


class NamedTokenUser(IdentityProvider):
    def generate_anonymous_user(self, handler):
        return User("alice", name="Alice", display_name="Alice")


c.ServerApp.identity_provider_class = NamedTokenUser
"""


def start_team_lab(root: Path, config: str = NAMED_USER):
    """``jupyter lab`` applying workspace roles (a team's server) on the workspace ``root/ws``,
    its server config ``config`` (whoever has the token is "alice"); stop it with ``stop_jupyter``."""
    folder = root / "home" / "config"
    folder.mkdir(parents=True)
    (folder / "jupyter_server_config.py").write_text(config)
    return start_jupyter(root, lambda port, token: [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root / 'ws'}", "--MlwsApp.enforce_roles=True"], cwd=root / "ws")


def _publishable_events(root: Path) -> None:
    """The server's config: the test-only ``vm_idle_event`` extension, so that tests may publish
    the live events the UI tells (``schedule-run``) through Jupyter's ``POST /api/events``."""
    config = root / "home" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "c.ServerApp.jpserver_extensions = {'vm_idle_event': True}\n")


@pytest.fixture(scope="session")
def lab():
    """``jupyter lab`` on a free port serving a filled workspace; yields url, token, expectations."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    root = Path(tempfile.mkdtemp(prefix="mlws-ui-"))
    expected = _fill(root)
    _publishable_events(root)
    server = None
    try:
        server = start_jupyter(root, lambda port, token: [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root / 'ws'}",
            f"--LabApp.default_url={lab_url(root / 'ws')}"], cwd=root / "ws")  # as mlws quickstart starts it
        # "root": the workspace's folder (the server's folder too): a test module may add its own
        # runs there through the SDK (the server picks them up, as it would a user's)
        yield {"url": server.url, "token": server.token, "log": server.log, "root": root / "ws", **expected}
    finally:
        _stop_endpoints(root / "ws")
        if server is not None:
            stop_jupyter(server)
        shutil.rmtree(root, ignore_errors=True)


#: screenshots the README shows (tests/ui/screenshots/NAME -> docs/NAME), refreshed only on request
DOCS_SCREENSHOTS = {"quickstart.png": "quickstart.png", "runs-table.png": "runs-table.png",
                    "compare.png": "compare.png", "model-page.png": "model-page.png",
                    "endpoint-page.png": "endpoint-page.png",
                    "widgets.png": "widgets.png", "run-details-widget.png": "run-details-widget.png",
                    "submit.png": "submit.png",
                    "access.png": "access.png", "team-page.png": "team-page.png"}
DOCS_SCREENSHOTS["sweep.png"] = "sweep.png"  # tests/ui/test_sweep_page.py
DOCS_SCREENSHOTS.update({"run-page.png": "run-page.png",  # tests/ui/test_run_page.py
                         "run-page-charts.png": "run-page-charts.png"})
DOCS_SCREENSHOTS.update({"compute-page.png": "compute-page.png",  # tests/ui/test_compute_page.py
                         "secrets-page.png": "secrets-page.png"})
DOCS_SCREENSHOTS.update({"submit-compute.png": "submit-compute.png",  # tests/ui/test_submit_compute.py
                         "submit-drift.png": "submit-drift.png", "run-on-compute.png": "run-on-compute.png"})
DOCS_SCREENSHOTS.update({"vms.png": "vms.png", "vm-idle-warning.png": "vm-idle-warning.png"})  # tests/ui/test_vms_ui.py
DOCS_SCREENSHOTS.update({"pipeline-graph.png": "pipeline-graph.png",  # tests/ui/test_pipeline_graph.py
                         "schedules.png": "schedules.png"})  # tests/ui/test_schedules_ui.py
DOCS_SCREENSHOTS.update({"data-page.png": "data-page.png",  # tests/ui/test_data_ui.py
                         "dataset-page.png": "dataset-page.png", "dataset-page-dark.png": "dataset-page-dark.png"})
DOCS_SCREENSHOTS.update({"automl-leaderboard.png": "automl-leaderboard.png",  # tests/ui/test_automl_ui.py
                         "automl-widget.png": "automl-widget.png"})


@pytest.fixture(scope="session", autouse=True)
def docs_screenshots():
    """With MLWS_UPDATE_DOCS_SCREENSHOTS=1, copy the README's pictures to docs/ after the tests."""
    yield
    if os.environ.get("MLWS_UPDATE_DOCS_SCREENSHOTS") == "1":
        docs = Path(__file__).parents[2] / "docs"
        docs.mkdir(exist_ok=True)
        for shot, name in DOCS_SCREENSHOTS.items():
            if (SCREENSHOTS / shot).exists():
                shutil.copy(SCREENSHOTS / shot, docs / name)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright (no browser download); it needs no ``lab``
    (a module with a server of its own does not start the session's)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab, request):
    """A fresh page at JupyterLab, signed in with the token.

    Each test gets a JupyterLab workspace of its own (``lab/workspaces/<test>``), so that the
    layout one test leaves (a panel open or closed, a notebook tab) never reaches the next;
    ``lab["home"]`` is that URL's path, to go back to it with other query parameters.
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    lab["home"] = f"lab/workspaces/{request.node.name.replace('_', '-')[:60]}"
    page.goto(f"{lab['url']}{lab['home']}?token={lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel")
    yield page
    context.close()


# -- helpers the browser tests share ------------------------------------------------------------


def palette(page, label: str) -> None:
    """Run a command from JupyterLab's command palette (Ctrl+Shift+C), as a user would, once
    JupyterLab has restored its layout (until then the palette may lose its focus and close);
    tried again when it closed all the same before the label was typed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    search = page.locator(".lm-CommandPalette-input")
    for attempt in range(5):  # a loaded machine: JupyterLab may not take keys yet
        if not search.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            search.fill(label, timeout=8_000)
            page.locator(".lm-CommandPalette-item", has_text=label).first.click(timeout=8_000)
            return
        except PlaywrightTimeout:  # the palette closed meanwhile
            if attempt == 4:
                raise AssertionError(f"the command palette did not run {label!r}")


def open_page(page, lab, request: dict) -> None:
    """Open a main-area page as the layout restorer reopens it on reload: a JupyterLab workspace
    whose saved state holds the page's request (``mlws:open-page`` runs with it)."""
    name = f"page-{uuid.uuid4().hex[:8]}"  # not mlws-<8 hex>: quickstart's first view
    item = ",".join(sorted(request["ids"])) if "ids" in request else request.get("id") or request["experiment"]
    key = f"mlws-pages:{request['kind']}:{item}"  # pageKey (labextension/src/pages/page.ts)
    body = json.dumps({"data": {key: {"data": request}}, "metadata": {"id": name}}).encode()
    req = urllib.request.Request(f"{lab['url']}lab/api/workspaces/{name}", data=body, method="PUT",
                                 headers={"Authorization": f"token {lab['token']}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 204
    page.goto(f"{lab['url']}lab/workspaces/{name}?token={lab['token']}")
    page.wait_for_selector("#jp-main-dock-panel .mlws-Page")
