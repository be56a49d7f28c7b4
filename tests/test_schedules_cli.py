"""``mlws schedule ...`` as a user meets it: what each command prints, its JSON, its exit codes
and one-line errors; and ``mlws scheduler --once`` starting a due run."""

from __future__ import annotations

import json
import re
from datetime import datetime

from click.testing import CliRunner

from jupyter_mlws.cli import main
from schedule_support import notebook, script_pipeline


def mlws(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *[str(a) for a in args]],
                              catch_exceptions=False)


def test_create_list_show_pause_resume_delete(ws, tmp_path):
    notebook(tmp_path / "report.ipynb")
    r = mlws(ws, "schedule", "create", "nightly", "--notebook", "report.ipynb", "--cron",
             "0 6 * * 1-5", "--tz", "Europe/Berlin", "-p", "x", "5", "--retries", "2",
             "--catch-up", "all:3")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ("schedule nightly created: notebook report.ipynb (snapshot taken), "
                        "At 06:00, Monday through Friday (Europe/Berlin)")
    assert re.fullmatch(r"next: (\d{4}-\d\d-\d\dT06:00:00\+0[12]:00(, )?){3}", lines[1])
    assert "mlws scheduler" in lines[2]
    r = mlws(ws, "schedule", "list")
    header, row = r.stdout.splitlines()
    assert header.split() == ["NAME", "RUNS", "WHEN", "NEXT", "LAST", "RUN"]
    assert row.startswith("nightly") and "notebook report.ipynb" in row
    assert "0 6 * * 1-5 (Europe/Berlin)" in row and row.rstrip().endswith("-")
    r = mlws(ws, "schedule", "show", "nightly")
    fields = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line
                  and not line.startswith(("next", "snapshot", "created")))
    assert fields["schedule"].strip() == "nightly" and fields["notebook"].strip() == "report.ipynb"
    assert fields["cron"].strip() == "0 6 * * 1-5: At 06:00, Monday through Friday"
    assert fields["params"].strip() == "x=5" and fields["retries"].strip() == "2"
    assert fields["catch-up"].strip() == "all:3" and fields["compute"].strip() == "local"
    assert "the files are unchanged" in r.stdout and r.stdout.rstrip().endswith("last runs: none yet")
    notebook(tmp_path / "report.ipynb", body="print('edited')")
    assert "changed since: report.ipynb; runs use the snapshot ('mlws schedule update nightly " \
           "--notebook report.ipynb' takes the edits)" in mlws(ws, "schedule", "show",
                                                               "nightly").stdout
    shown = json.loads(mlws(ws, "schedule", "show", "nightly", "--json").stdout)
    assert shown["source_state"] == "changed" and shown["params"] == {"x": 5}
    assert mlws(ws, "schedule", "pause", "nightly").stdout == "schedule nightly paused\n"
    r = mlws(ws, "schedule", "resume", "nightly")
    assert r.stdout.startswith("schedule nightly resumed, next 20")
    r = mlws(ws, "schedule", "update", "nightly", "--cron", "30 7 * * *")
    assert r.stdout == ("schedule nightly updated: notebook report.ipynb, At 07:30 "
                        "(Europe/Berlin)\n")
    assert mlws(ws, "schedule", "delete", "nightly").stdout == "schedule nightly deleted\n"
    assert json.loads(mlws(ws, "schedule", "list", "--json").stdout) == []


def test_errors_are_one_line_with_an_exit_code(ws, tmp_path):
    notebook(tmp_path / "nb.ipynb")
    cases = [
        (["--notebook", "nb.ipynb", "--cron", "61 * * * *"], 2,
         "error: cron expression '61 * * * *': the minute field '61' is not valid (allowed: 0-59"),
        (["--notebook", "nb.ipynb", "--cron", "0 0 6 * * 1-5 2025"], 2,
         "error: cron expression '0 0 6 * * 1-5 2025' has 7 field(s)"),
        (["--notebook", "nb.ipynb", "--cron", "0 6 * * *", "--tz", "Mars/Olympus"], 2,
         "error: unknown time zone 'Mars/Olympus'"),
        (["--notebook", "missing.ipynb", "--cron", "0 6 * * *"], 3,
         "error: no notebook 'missing.ipynb'"),
        (["--cron", "0 6 * * *"], 2, "error: give the schedule a notebook"),
    ]
    for args, code, start in cases:
        r = mlws(ws, "schedule", "create", "s", *args)
        assert r.exit_code == code and r.stderr.startswith(start), (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and r.stdout == ""
    assert mlws(ws, "schedule", "list", "--json").stdout.strip() == "[]"
    assert mlws(ws, "schedule", "create", "s", "--notebook", "nb.ipynb", "--cron", "@daily").exit_code == 0
    r = mlws(ws, "schedule", "create", "s", "--notebook", "nb.ipynb", "--cron", "@daily")
    assert r.exit_code == 4 and r.stderr.startswith("error: schedule 's' exists")
    r = mlws(ws, "schedule", "show", "nope")
    assert r.exit_code == 3 and r.stderr == "error: no schedule 'nope': 'mlws schedule list' shows them\n"


def test_trigger_runs_and_scheduler_once(ws, tmp_path):
    gone = notebook(tmp_path / "gone.ipynb")
    assert mlws(ws, "schedule", "create", "gone", "--notebook", "gone.ipynb", "--cron",
                "0 6 * * *", "--tz", "UTC").exit_code == 0
    gone.unlink()
    r = mlws(ws, "schedule", "trigger", "gone")
    assert r.exit_code == 1
    assert re.match(r"run [0-9a-f]{16} failed: notebook not found: 'gone.ipynb' was deleted",
                    r.stderr)
    yaml = script_pipeline(tmp_path / "p")
    assert mlws(ws, "schedule", "create", "pipe", "--pipeline", yaml, "--cron", "0 6 * * *",
                "--tz", "UTC").exit_code == 0
    r = mlws(ws, "schedule", "trigger", "pipe")
    assert r.exit_code == 0 and re.fullmatch(
        r"run ([0-9a-f]{16}) (queued|running) \(schedule pipe, now\); follow it with "
        r"'mlws run logs \1 --follow'\n", r.stdout), r.stdout
    run_id = r.stdout.split()[1]
    assert ws.wait(run_id, timeout=120).status == "completed"
    r = mlws(ws, "schedule", "runs", "pipe")
    header, row = r.stdout.splitlines()
    assert header.split() == ["RUN", "STATUS", "TICK", "TICKS", "TRIGGER", "ATTEMPT", "STARTED",
                              "ERROR"]
    assert row.split()[:2] == [run_id, "completed"] and " manual " in row
    runs = json.loads(mlws(ws, "schedule", "runs", "pipe", "--json").stdout)
    assert runs[0]["id"] == run_id and datetime.fromisoformat(runs[0]["nominal"])
    r = mlws(ws, "scheduler", "--once")  # nothing due yet: one pass, nothing claimed
    assert r.exit_code == 0 and "0 tick(s) claimed" in r.stdout


def test_runs_read_in_one_zone_errors_cut_at_a_word_and_warnings_on_stderr(ws, tmp_path,
                                                                           monkeypatch):
    """Newcomer findings: TICK in the schedule's zone beside STARTED in this machine's; the
    ERROR column cut mid-word; ``update --notebook`` not saying it took a snapshot; ``-p
    undeclared`` taken silently."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    import time

    time.tzset()
    try:
        notebook(tmp_path / "nb.ipynb")
        r = mlws(ws, "schedule", "create", "nb", "--notebook", "nb.ipynb", "--cron", "0 6 * * *",
                 "--tz", "America/New_York", "-p", "undeclared", "1")
        assert r.exit_code == 0 and r.stderr == (
            "warning: nb.ipynb does not declare parameter 'undeclared' in its 'parameters' cell "
            "(its parameters: x; passed anyway)\n")
        r = mlws(ws, "schedule", "update", "nb", "--notebook", "nb.ipynb")
        assert r.stdout.startswith("schedule nb updated: notebook nb.ipynb (new snapshot taken), ")
        (tmp_path / "nb.ipynb").unlink()  # its run fails at once: a long error
        run = json.loads(mlws(ws, "schedule", "trigger", "nb", "--json").stdout)
        r = mlws(ws, "schedule", "runs", "nb")
        header, row, hint = r.stdout.splitlines()
        assert hint == "the whole error of a run: mlws run show RUN"
        when = re.compile(r"[A-Z][a-z]{2} \d\d( \d{4})? \d\d:\d\d:\d\d CES?T")  # this machine's
        tick, started = [m.group(0) for m in when.finditer(row)]  # both in this machine's zone
        assert tick[:6] == started[:6], row  # the same day: triggered now
        error = row[header.index("ERROR"):]
        assert error.endswith("…") and len(error) <= 60 and not error[:-1].endswith(" ")
        assert run["error"].startswith(error[:-1].rstrip())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
