"""The CLI's start-up trim keeps notebook validation whole."""

from __future__ import annotations

import json
import subprocess
import sys

from jupyter_mlws import Workspace


def test_the_cli_still_refuses_a_notebook_that_breaks_the_schema(tmp_path):
    # valid JSON, but a cell type the notebook format does not have
    _refused(tmp_path, {"cell_type": "sql", "metadata": {}, "source": "x"})


def test_submit_wait_still_refuses_a_notebook_that_breaks_the_schema(tmp_path):
    # --wait trims more of jsonschema (the format checks nbformat does not use)
    _refused(tmp_path, {"cell_type": "code", "metadata": {}, "source": "x", "outputs": [],
                        "execution_count": "one"}, "--wait")


def _refused(tmp_path, cell: dict, *flags: str) -> None:
    """``mlws run submit`` of a notebook holding ``cell`` fails, saying why, and records nothing."""
    ws = Workspace.create(tmp_path / "ws")
    ws.close()
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    probe = ("import sys; from jupyter_mlws.cli import main; "
             "sys.argv = ['mlws', '--workspace', sys.argv[1], 'run', 'submit', *sys.argv[2:]]; "
             "main()")
    res = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "ws"), str(bad), *flags],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "bad.ipynb is not a valid notebook" in res.stderr
    with Workspace.open(tmp_path / "ws") as again:
        assert again.describe()["runs"] == 0
