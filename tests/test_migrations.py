"""Schema migrations that change recorded values, on SQLite and PostgreSQL."""

import json
from pathlib import Path

import pytest
from sqlalchemy import and_

from jupyter_mlws import Workspace
from jupyter_mlws.store import migrations
from jupyter_mlws.store import schema as S

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def ws(any_ws):
    return any_ws


def _write_params(ws, run_pk, texts):
    """Params texts as an older version wrote them, over what this one recorded."""
    def write(conn):
        for key, text in texts.items():
            where = and_(S.params.c.run_pk == run_pk, S.params.c.key == key)
            if conn.execute(S.params.update().where(where).values(value=text)).rowcount == 0:
                conn.execute(S.params.insert().values(run_pk=run_pk, key=key, value=text, num=None))
    ws.db.transact(write)


def _at_version(ws, version):
    ws.db.transact(lambda conn: migrations._set_version(conn, version))


def test_version_7_stores_old_params_in_the_one_encoding(ws):
    # version 6 stored SDK params as str(value), notebook parameters as JSON with ASCII escapes
    old_sdk = {"none": "None", "flag": "True", "off": "False", "cfg": "{'a': 1, 'b': None}",
               "pair": "(1, 2)", "names": "['a', 'b']", "nan": "nan", "inf": "-inf",
               "same": "[1, 2]", "model": "rf", "half": "{not python", "spaced": "[1,2]",
               "a_set": "{1, 2}", "lr": "0.1"}
    with ws.experiment("old").start_run(snapshot=False, outputs=None) as sdk:
        sdk.log("acc", 0.5)
    _write_params(ws, sdk.record.pk, old_sdk)
    given = {"word": "None", "cfg": {"é": None}, "lr": 0.5}
    nb = ws.get_run(ws.notebooks.submit(NOTEBOOKS / "train.ipynb", given, detach=False).run_id)
    # the notebook's own mlws.log_params(...) of an SDK value, and the record of its injected ones
    _write_params(ws, nb.record.pk, {"word": "None", "cfg": '{"\\u00e9": null}', "lr": "0.5",
                                     "logged_inside": "None"})

    def version_with_lineage(conn):
        model = conn.execute(S.models.insert().values(name="m", description="", created_at=0,
                                                      version_counter=1)).inserted_primary_key[0]
        conn.execute(S.model_versions.insert().values(
            model_pk=model, version=1, description="", created_at=0, flavor="unknown", size=0,
            sha256="0" * 64, run_pk=sdk.record.pk, source="", tags="{}",
            lineage=json.dumps({"run_id": sdk.id, "params": {**old_sdk, "none": "None"}})))
    ws.db.transact(version_with_lineage)
    _at_version(ws, 6)
    ws.close()

    with Workspace.open(ws.root) as again:
        with again.db.read() as conn:
            assert migrations.current_version(conn) == migrations.LATEST
        assert again.get_run(sdk.id).params == {
            "none": "null", "flag": "true", "off": "false", "cfg": '{"a": 1, "b": null}',
            "pair": "[1, 2]", "names": '["a", "b"]', "nan": "NaN", "inf": "-Infinity",
            "same": "[1, 2]", "model": "rf", "half": "{not python", "spaced": "[1,2]",
            "a_set": "{1, 2}", "lr": "0.1"}
        # injected values are known exactly: the string "None" stays a string
        assert again.get_run(nb.id).params == {
            "word": "None", "cfg": '{"é": null}', "lr": "0.5", "logged_inside": "null",
            "layers": "[8]", "epochs": "5", "message": "hi"}
        lineage = again.models.resolve("m:1").lineage["params"]
        assert lineage["none"] == "null" and lineage["cfg"] == '{"a": 1, "b": null}'
        assert lineage["model"] == "rf"
        # the same values logged now match the migrated ones
        with again.experiment("old").start_run(snapshot=False, outputs=None) as new:
            new.log_params({"none": None, "cfg": {"a": 1, "b": None}, "pair": (1, 2), "nan": float("nan")})
        found = again.search_runs("params.none = 'null' and params.cfg = '{\"a\": 1, \"b\": null}' "
                                  "and params.pair = '[1, 2]' and params.nan = 'NaN'")
        assert {r.id for r in found} == {sdk.id, new.id}
