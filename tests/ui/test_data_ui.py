"""The Data pages in a real JupyterLab and Chromium, on a server applying workspace roles, against
the real datastores and datasets REST API: the navigator's Data entry opens the Data page (the
datastores, ``default`` marked, no credential; the datasets with their latest version, size and
files); a dataset opens (Enter) on its page: versions with sizes and content hashes, the run that
made one, a tabular version's schema and column statistics, lineage links that open the run's and
the model's page (on that version), and back from them to the dataset on the version they used;
versions and files a page at a time; a datastore registered, a refusal shown verbatim, a delete
confirmed or refused; and roles: a reader sees no Register or Delete, a contributor no Delete."""

from __future__ import annotations

import csv
import json
import re

import pytest
from mlws_testing import iris_model, stop_jupyter

from .conftest import CHROMIUM, SCREENSHOTS, lab_api, palette, start_team_lab

#: the S3 datastore's secret key: never on a page
SECRET = "wJalrXUtnFEMI-example-secret"
#: versions of "images" (more than a page of 20) and its files (more than a page of 100)
IMAGE_VERSIONS, IMAGE_FILES = 23, 130


def _iris_csv(path, rows: int) -> None:
    """The first ``rows`` iris flowers as a CSV table (four numbers and the species' name)."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        for x, y in list(zip(iris.data, iris.target))[:rows]:
            out.writerow([*x, iris.target_names[y]])


def _fill(ws, root) -> dict:
    """iris:1 (read by run train-run, model flower:1 trained on it; flower:2 on nothing), iris:2 made by run prep,
    images:1..23 in datastore archive (130 files each); returns the runs' ids."""
    ws.datastores.register("archive", (root / "archive").as_uri(), description="old exports")
    # an S3 store whose credentials are a secret (not reached: nothing reads it here)
    ws.secrets.set(ws.access.creator(), "lake-s3", json.dumps({"key": "AKIAEXAMPLE", "secret": SECRET}))
    ws.datastores.register("lake", "s3://team-data/lake?region=eu-west-1", credentials_secret="lake-s3",
                           description="the team's raw files", check=False)
    _iris_csv(root / "iris1" / "iris.csv", 120)
    ws.datasets.register("iris", root / "iris1", tabular=True, description="the flowers")
    exp = ws.experiment("data")
    with exp.start_run("train-run", snapshot=False, outputs=None) as run:
        ws.dataset("iris:1").files()  # recorded as a read of this run
        train = run.id
    iris_model(root / "model")
    ws.register_model("flower", root / "model", run=train, training_data="dataset:iris:1")
    iris_model(root / "model2", C=0.5)
    ws.register_model("flower", root / "model2")  # flower:2, the latest: a link to flower:1 must show 1
    with exp.start_run("prep", snapshot=False, outputs=None) as run:
        _iris_csv(root / "iris2" / "iris.csv", 150)
        ws.datasets.register("iris", root / "iris2", tabular=True)  # made by this run
        prep = run.id
    images = root / "images"
    images.mkdir()
    for i in range(IMAGE_FILES):
        (images / f"img-{i:03d}.png").write_bytes(bytes([i % 251]) * (i + 1))
    for n in range(IMAGE_VERSIONS):
        (images / "img-000.png").write_bytes(b"v" * (n + 1))
        ws.datasets.register("images", images, datastore="archive")
    return {"train": train, "prep": prep}


@pytest.fixture(scope="module")
def data_lab(tmp_path_factory):
    """``jupyter lab`` applying roles (the token's user is "alice"), on a workspace with the
    datasets of ``_fill``; yields url, token, the workspace folder and the runs' ids."""
    from jupyter_mlws import Workspace

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    root = tmp_path_factory.mktemp("data-lab")
    with Workspace.create(root / "ws") as ws:
        runs = _fill(ws, root)
    server = start_team_lab(root)
    try:
        yield {"url": server.url, "token": server.token, "ws": root / "ws", "root": root, **runs}
    finally:
        stop_jupyter(server)


def grant(data_lab, role: str) -> None:
    from jupyter_mlws import Workspace
    from jupyter_mlws.access import os_user

    with Workspace.open(data_lab["ws"]) as ws:
        ws.access.grant(os_user(), "alice", role)


@pytest.fixture
def page(browser, data_lab, request):
    """A fresh page (its own lab workspace) with the navigator open, as an owner unless a test
    grants another role."""
    grant(data_lab, "owner")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    data_lab["home"] = f"lab/workspaces/data-{request.node.name.replace('_', '-')[:50]}"
    page.goto(f"{data_lab['url']}{data_lab['home']}?mlws=open&token={data_lab['token']}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    yield page
    context.close()


def open_data(page):
    page.locator(".mlws-Sidebar .mlws-OpenData").click()
    view = page.locator("#jp-main-dock-panel .mlws-DataPage:not(.mlws-DatasetPage)")
    view.locator(".mlws-DatasetRow").first.wait_for()
    return view


def cli_sizes(folder) -> dict[str, str]:
    """Each dataset's SIZE as `mlws dataset list` prints it: what the pages must say too."""
    from click.testing import CliRunner

    from jupyter_mlws.cli.main import main

    out = CliRunner().invoke(main, ["-w", str(folder), "dataset", "list"], catch_exceptions=False).output
    header, *rows = out.splitlines()
    start, end = header.index("SIZE"), header.index("DATASTORE")
    return {row.split()[0]: row[start:end].strip() for row in rows}


def size_text(n: int) -> str:
    """A size as the CLI prints one (decimal units: 1 KB = 1000 bytes, `mlws dataset list`)."""
    from jupyter_mlws.cli.datasets import _size

    return _size(n)


def dataset_page(page, name: str):
    return page.locator(f"#jp-main-dock-panel .mlws-DatasetPage[data-dataset='{name}']")


def tab(page, label: str) -> None:
    """Bring the main-area tab labelled exactly ``label`` to the front."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel", has_text=re.compile(f"^{re.escape(label)}$")).click()


def shown_version(view, version: int):
    detail = view.locator(f".mlws-DatasetVersion[data-version='{version}']")
    detail.wait_for()
    return detail


def test_data_page_dataset_lineage_and_pages(page, data_lab):
    view = open_data(page)
    # the datastores: default marked, archive with its URL; no credential anywhere
    stores = view.locator(".mlws-DatastoreRow")
    assert [stores.nth(i).get_attribute("data-datastore") for i in range(stores.count())] == [
        "default", "archive", "lake"]
    assert view.locator(".mlws-DatastoreRow[data-datastore='default'] .mlws-DefaultBadge").inner_text() == "default"
    archive = view.locator(".mlws-DatastoreRow[data-datastore='archive']")
    assert archive.locator(".mlws-DatastoreUrl").inner_text() == (data_lab["root"] / "archive").as_uri()
    assert "old exports" in archive.inner_text() and "none" in archive.inner_text()
    lake = view.locator(".mlws-DatastoreRow[data-datastore='lake']")
    assert lake.locator("td").nth(1).inner_text() == "s3"
    assert lake.locator(".mlws-DatastoreUrl").inner_text() == "s3://team-data/lake"
    assert "secret lake-s3" in lake.inner_text()
    assert SECRET not in page.content() and "AKIAEXAMPLE" not in page.content()
    # the datasets: latest version, size and files as the server counts them
    listed = {d["name"]: d for d in lab_api(data_lab, "GET", "datasets")[1]["datasets"]}
    printed = cli_sizes(data_lab["ws"])  # the same units as the CLI: 3.9 KB there is 3.9 KB here
    assert listed["iris"]["size"] >= 1024 and printed["iris"].endswith(" KB")
    for name in ("iris", "images"):
        row = view.locator(f".mlws-DatasetRow[data-dataset='{name}']")
        assert row.locator(".mlws-DatasetLatest").inner_text() == f"v{listed[name]['latest']}"
        assert row.locator(".mlws-DatasetSize").inner_text() == printed[name] == size_text(listed[name]["size"])
        assert row.locator(".mlws-DatasetFiles").inner_text() == str(listed[name]["files"])
    assert listed["images"]["latest"] == IMAGE_VERSIONS and listed["images"]["files"] == IMAGE_FILES
    page.screenshot(path=str(SCREENSHOTS / "data-page.png"))

    # Enter on a dataset opens its page, on the latest version: made by run prep
    view.locator(".mlws-DatasetRow[data-dataset='iris'] .mlws-DatasetOpen").focus()
    page.keyboard.press("Enter")
    iris = dataset_page(page, "iris")
    rows = iris.locator(".mlws-DatasetVersionRow")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-version") for i in range(rows.count())] == ["2", "1"]
    v2 = shown_version(iris, 2)
    versions = lab_api(data_lab, "GET", "datasets/iris/versions")[1]["versions"]
    assert rows.first.locator(".mlws-Hash").inner_text() == versions[0]["root_hash"][:12]
    assert rows.first.locator(".mlws-Hash").get_attribute("title") == versions[0]["root_hash"]
    assert v2.locator(".mlws-RootHash").inner_text() == versions[0]["root_hash"]
    made = v2.locator(".mlws-DatasetLineage tr[data-key='Made by'] .mlws-RunLink")
    assert made.inner_text() == "prep" and made.get_attribute("data-run-id") == data_lab["prep"]

    # version 1: read by train-run, flower:1 trained on it; its schema and statistics
    rows.nth(1).locator(".mlws-VersionOpen").click()
    v1 = shown_version(iris, 1)
    shown = lab_api(data_lab, "GET", "datasets/iris:1")[1]
    users = v1.locator(".mlws-DatasetUsers li")
    assert users.count() == 1 and users.first.get_attribute("data-run-id") == data_lab["train"]
    assert users.first.inner_text().startswith("train-run") and "(read)" in users.first.inner_text()
    assert v1.locator(".mlws-DatasetModels li").inner_text().startswith("flower:1")
    assert "120 rows, 5 columns (csv)" in v1.locator(".mlws-SchemaSummary").inner_text()
    stats = v1.locator(".mlws-FeatureStats tbody tr")
    assert [stats.nth(i).get_attribute("data-feature") for i in range(stats.count())] == [
        c["name"] for c in shown["stats"]["columns"]]
    sepal = shown["stats"]["features"][0]
    cells = v1.locator(".mlws-FeatureStats tr[data-feature='sepal_length'] td").all_inner_texts()
    assert cells[:5] == ["sepal_length", "number", "numeric", "120", "0"]
    assert cells[5] == str(float(f"{sepal['mean']:.4g}")) and cells[7] == str(float(f"{sepal['min']:.4g}"))
    species = v1.locator(".mlws-FeatureStats tr[data-feature='species'] .mlws-TopValues").inner_text()
    assert "setosa 42%" in species  # 50 of the first 120
    assert v1.locator(".mlws-DatasetFiles tr[data-path='iris.csv'] td").nth(1).inner_text() == size_text(
        shown["size"])
    v1.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "dataset-page.png"))
    palette(page, "JupyterLab Dark")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "dataset-page-dark.png"))
    palette(page, "JupyterLab Light")
    page.wait_for_selector("body[data-jp-theme-light='true']", state="attached")

    # the model link opens flower's page on version 1, which links back to iris:1
    v1.locator(".mlws-DatasetModels .mlws-ModelLink").click()
    model = page.locator("#jp-main-dock-panel .mlws-ModelPage[data-model='flower']")
    detail = model.locator(".mlws-VersionDetail[data-version='1']")
    links = detail.locator(".mlws-ModelDatasets li")
    links.first.wait_for()
    assert {(links.nth(i).get_attribute("data-ref"), links.nth(i).get_attribute("data-how"))
            for i in range(links.count())} == {("iris:1", "training")}  # its run read it too: once
    # iris's page (still open) turned to version 2: the model's link shows version 1 there
    tab(page, "Dataset iris")
    rows.first.locator(".mlws-VersionOpen").click()
    shown_version(iris, 2)
    tab(page, "Model flower")
    links.first.locator(".mlws-DatasetLink").click()
    shown_version(iris, 1)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Dataset iris").count() == 1

    # the run that read it: its page lists iris:1, whose link comes back here
    users.first.locator(".mlws-RunLink").click()
    run = page.locator(f"#jp-main-dock-panel .mlws-RunPage[data-run-id='{data_lab['train']}']")
    used = run.locator(".mlws-RunDatasets .mlws-DatasetLink")
    used.wait_for()
    assert used.inner_text() == "iris:1" and run.locator(".mlws-RunDatasets .mlws-DatasetHow").inner_text() == "(read)"
    used.click()
    shown_version(iris, 1)

    # images: 23 versions, 20 a page; 130 files, 100 a page
    tab(page, "Data")
    view.locator(".mlws-DatasetRow[data-dataset='images'] .mlws-DatasetOpen").click()
    images = dataset_page(page, "images")
    pager = images.locator(".mlws-DataPager[aria-label='Versions of images']")
    assert pager.locator(".mlws-PageInfo").inner_text() == f"1–20 of {IMAGE_VERSIONS} versions"
    assert images.locator(".mlws-DatasetVersionRow").count() == 20
    files = images.locator(".mlws-DataPager[aria-label='Files of images:23']")
    assert files.locator(".mlws-PageInfo").inner_text() == f"1–100 of {IMAGE_FILES} files"
    assert images.locator(".mlws-DatasetFiles tbody tr").count() == 100
    files.locator(".mlws-Next").click()
    files.locator(".mlws-PageInfo", has_text=f"101–{IMAGE_FILES} of {IMAGE_FILES} files").wait_for()
    assert images.locator(".mlws-DatasetFiles tbody tr").first.get_attribute("data-path") == "img-100.png"
    pager.locator(".mlws-Next").click()
    pager.locator(".mlws-PageInfo", has_text=f"21–{IMAGE_VERSIONS} of {IMAGE_VERSIONS} versions").wait_for()
    assert [r.get_attribute("data-version") for r in images.locator(".mlws-DatasetVersionRow").all()] == ["3", "2", "1"]
    assert pager.locator(".mlws-Next").is_disabled() and pager.locator(".mlws-Prev").is_enabled()


def test_an_owner_registers_and_deletes_datastores(page, data_lab):
    view = open_data(page)
    view.locator(".mlws-NewDatastore").click()
    name = view.locator(".mlws-NewDatastore-name")
    assert name.evaluate("e => e === document.activeElement")
    name.fill("scratch")
    # a refusal, verbatim; nothing recorded
    view.locator(".mlws-NewDatastore-url").fill("ftp://files.example.org/x")
    view.locator(".mlws-RegisterDatastore").click()
    refusal = view.locator(".mlws-RegisterDatastoreError")
    refusal.wait_for()
    status, answer = lab_api(data_lab, "POST", "datastores", {"name": "scratch", "url": "ftp://files.example.org/x"})
    assert status == 400 and refusal.inner_text() == answer["message"]
    url = (data_lab["root"] / "scratch").as_uri()
    view.locator(".mlws-NewDatastore-url").fill(url)
    view.locator(".mlws-NewDatastore-description").fill("for now")
    page.screenshot(path=str(SCREENSHOTS / "data-register.png"))
    view.locator(".mlws-NewDatastore-url").press("Enter")  # Enter submits
    view.locator(".mlws-NewDatastoreForm").wait_for(state="detached")
    row = view.locator(".mlws-DatastoreRow[data-datastore='scratch']")
    row.wait_for()
    assert lab_api(data_lab, "GET", "datastores/scratch")[1]["description"] == "for now"
    assert row.locator(".mlws-DatastoreUrl").inner_text() == url
    page.wait_for_function("() => document.activeElement?.classList.contains('mlws-NewDatastore')")

    # delete: Escape keeps it, Delete removes it; archive holds datasets: refused, verbatim
    row.locator(".mlws-DeleteDatastore").click()
    page.locator(".jp-Dialog").wait_for()
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    assert lab_api(data_lab, "GET", "datastores/scratch")[0] == 200
    row.locator(".mlws-DeleteDatastore").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    row.wait_for(state="detached")
    assert lab_api(data_lab, "GET", "datastores/scratch")[0] == 404
    view.locator(".mlws-DatastoreRow[data-datastore='archive'] .mlws-DeleteDatastore").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    error = view.locator(".mlws-DatastoreError")
    error.wait_for()
    status, answer = lab_api(data_lab, "DELETE", "datastores/archive")
    assert status == 409 and error.inner_text() == answer["message"]
    assert view.locator(".mlws-DatastoreRow[data-datastore='default'] .mlws-DeleteDatastore").count() == 0


def test_roles_hide_what_they_may_not_do(page, data_lab):
    grant(data_lab, "reader")
    view = open_data(page)
    view.locator(".mlws-RoleNote", has_text="you are a reader").wait_for()
    assert view.locator(".mlws-NewDatastore, .mlws-DeleteDatastore").count() == 0
    assert view.locator(".mlws-DatasetRow").count() == 2  # readers read

    grant(data_lab, "contributor")
    page.reload()  # the role is read again with the page
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60_000)
    view = open_data(page)
    view.locator(".mlws-NewDatastore").wait_for()
    assert view.locator(".mlws-DeleteDatastore").count() == 0 and view.locator(".mlws-RoleNote").count() == 0
    # a file:// datastore is the owners': the server's refusal, verbatim
    view.locator(".mlws-NewDatastore").click()
    view.locator(".mlws-NewDatastore-name").fill("mine")
    url = (data_lab["root"] / "mine").as_uri()
    view.locator(".mlws-NewDatastore-url").fill(url)
    view.locator(".mlws-RegisterDatastore").click()
    refusal = view.locator(".mlws-RegisterDatastoreError")
    refusal.wait_for()
    status, answer = lab_api(data_lab, "POST", "datastores", {"name": "mine", "url": url})
    assert status == 403 and refusal.inner_text() == answer["message"]
