"""Many processes on one workspace: no lost points, no "database is locked", no half batch.

The first two run on SQLite and PostgreSQL; the crash and backup tests are about SQLite files.
"""

import random
import sqlite3
import subprocess
import sys
import textwrap
import time

import jupyter_mlws as mlws

WORKER = textwrap.dedent("""
    import sys, jupyter_mlws as mlws
    ws = mlws.Workspace.open(sys.argv[1])
    mode = sys.argv[2]
    if mode == "log":
        with ws.experiment("load").start_run(snapshot=False, outputs=None) as run:
            for i in range(10_000):
                run.log("m", i * 0.5, step=i)
    elif mode == "read-write":
        with ws.experiment("rw").start_run(snapshot=False, outputs=None) as mine:
            pass
        for i in range(60):
            other = ws.search_runs(experiments=["rw"], max_results=1)[0]
            mine.set_tag(f"seen{i % 5}", other.id)
            ws.get_run(mine.id).set_description(f"round {i}")
    elif mode == "batches":
        run = ws.experiment("batches").start_run(snapshot=False, outputs=None)
        print(run.id, flush=True)
        step = 0
        while True:
            run.log_batch("m", [float(step + j) for j in range(5000)],
                          steps=range(step, step + 5000))
            step += 5000
    elif mode == "forever":
        run = ws.experiment("bg").start_run(snapshot=False, outputs=None)
        print(run.id, flush=True)
        i = 0
        while True:
            run.log("m", i)
            i += 1
""")


def _spawn(ws, mode, tmp_path, **kw):
    script = tmp_path / "worker.py"
    if not script.exists():  # written once: a rewrite could be read half-way by a starting worker
        script.write_text(WORKER)
    return subprocess.Popen([sys.executable, str(script), str(ws.root), mode],
                            stderr=subprocess.PIPE, text=True, **kw)


def _integrity(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_8_processes_logging_at_once_lose_nothing(any_ws, tmp_path):
    ws = any_ws
    procs = [_spawn(ws, "log", tmp_path) for _ in range(8)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert not any("locked" in e for e in errors)
    with ws.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM metrics").scalar() == 80_000
    runs = ws.search_runs(experiments=["load"])
    assert len(runs) == 8 and {r.status for r in runs} == {"completed"}
    assert all(r.metrics["m"] == 9999 * 0.5 for r in runs)
    assert all(len(r.metric_history("m")) == 10_000 for r in runs)


def test_read_then_write_from_many_processes_never_sees_busy(any_ws, tmp_path):
    ws = any_ws
    procs = [_spawn(ws, "read-write", tmp_path) for _ in range(6)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert all(r.record.description == "round 59" for r in ws.search_runs(experiments=["rw"]))


def test_kill_9_during_batches_leaves_no_half_batch(ws, tmp_path):
    rng = random.Random(7)
    for _ in range(4):
        with _spawn(ws, "batches", tmp_path, stdout=subprocess.PIPE) as proc:
            proc.stdout.readline()
            time.sleep(rng.uniform(0.05, 0.6))
            proc.kill()
            proc.communicate()
    assert _integrity(ws.root / "mlws.db") == "ok"
    with ws.db.read() as conn:
        counts = conn.exec_driver_sql(
            "SELECT r.pk, (SELECT count(*) FROM metrics m WHERE m.run_pk = r.pk), "
            "coalesce((SELECT count FROM latest_metrics l WHERE l.run_pk = r.pk), 0), r.point_seq "
            "FROM runs r").all()
    assert len(counts) == 4
    for _pk, rows, counted, seq in counts:
        assert rows % 5000 == 0  # whole batches only
        assert rows == counted == seq  # the metric rows, the summary and the run row agree


def test_backup_while_a_run_is_writing_is_consistent(ws, tmp_path):
    with _spawn(ws, "forever", tmp_path, stdout=subprocess.PIPE) as proc:
        run_id = proc.stdout.readline().strip()
        time.sleep(1.5)
        dest = ws.backup(tmp_path / "backup")
        proc.kill()
        proc.communicate()
    assert _integrity(dest / "mlws.db") == "ok"
    with mlws.Workspace.open(dest) as copy:
        run = copy.get_run(run_id)
        history = run.metric_history("m")
        assert history, "the backup holds the points written before it"
        assert [v for _, _, v in history] == [float(i) for i in range(len(history))]
        with copy.db.read() as conn:
            assert conn.exec_driver_sql("SELECT count FROM latest_metrics").scalar() == len(history)
