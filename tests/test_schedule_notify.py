"""What a schedule tells when its run ends (jupyter_mlws.schedules.notify), against real HTTP
servers on 127.0.0.1: webhooks fire on failure by default and on success when asked, once per
run however many schedulers see it end, with a payload that carries no secret, tried again
after a receiver's 5xx, never raising; the notices the server's live events read; and the
``[schedules] webhooks_allow_private`` setting of mlws.toml."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from webhook_receiver import Receiver

from jupyter_mlws import Workspace
from jupyter_mlws.errors import InvalidInput
from jupyter_mlws.schedules import notify
from jupyter_mlws.schedules.notify import (NOTIFIED, OWNER, WEBHOOKS, notify_run_finished,
                                           redact_url)

SECRET_VALUE = "pa55-w0rd-value"
NOMINAL = "2025-03-31T06:00:00+02:00"


def _allowing_private(ws) -> Workspace:
    """``ws`` reopened with ``[schedules] webhooks_allow_private = true`` in its mlws.toml."""
    config = ws.root / "mlws.toml"
    config.write_text(config.read_text() + "\n[schedules]\nwebhooks_allow_private = true\n")
    ws.close()
    return Workspace.open(ws.root)


@pytest.fixture
def private_ws(ws):
    reopened = _allowing_private(ws)
    yield reopened
    reopened.close()


def _scheduled_run(ws, status: str, name: str = "nightly"):
    """A real run as a schedule starts one (its tags), ended with ``status``."""
    run = ws.experiment(name).start_run(snapshot=False, outputs=None, tags={
        "mlws.schedule": name, "mlws.schedule.nominal": NOMINAL})
    run.end(status)
    return run


def _schedule(url: str | None, on=("failure",), name: str = "nightly") -> dict:
    return {"name": name, "owner": "carol", "params": {"api_key": SECRET_VALUE, "epochs": 3},
            "secrets": ["db-password"],
            "notify": [] if url is None else [{"url": url, "on": list(on)}]}


def _wait(thread):
    assert thread is not None, "nothing was posted"
    thread.join(30)
    assert not thread.is_alive()


def test_the_mlws_toml_setting(ws, tmp_path):
    assert ws.config.webhooks_allow_private is False
    config = ws.root / "mlws.toml"
    original = config.read_text()
    config.write_text(original + '\n[schedules]\nwebhooks_allow_private = "yes"\n')
    with pytest.raises(InvalidInput, match="webhooks_allow_private to 'yes': write true or false"):
        Workspace.open(ws.root)
    config.write_text(original.replace("[workspace]", "[workspace]\nwebhooks_allow_private = true"))
    with Workspace.open(ws.root) as reopened:  # only the [schedules] table says it
        assert reopened.config.webhooks_allow_private is False
    config.write_text(original + "\n[schedules]\nwebhooks_allow_private = true\n")
    with Workspace.open(ws.root) as reopened:
        assert reopened.config.webhooks_allow_private is True


def test_a_failed_run_posts_its_webhook_with_no_secret(private_ws, caplog):
    private_ws.secrets.set("root", "db-password", SECRET_VALUE, check_actor=False)
    private_ws.config.server_url = "https://mlws.example.org/team/"
    run = _scheduled_run(private_ws, "failed")
    with Receiver() as receiver, caplog.at_level(logging.DEBUG, "jupyter_mlws"):
        url = receiver.url("/hooks/T0/s3cr3t-path?token=t0ken")
        _wait(notify_run_finished(private_ws, _schedule(url), {"id": run.id}))
        (request,) = receiver.requests
    body = json.loads(request["body"])
    assert body == {"schedule": "nightly", "run_id": run.id, "status": "failed",
                    "nominal": NOMINAL,
                    "link": f"https://mlws.example.org/team/mlws/?run={run.id}"}
    sent = request["body"].decode() + json.dumps(request["headers"])
    assert SECRET_VALUE not in sent and "api_key" not in sent and "db-password" not in sent
    assert "Authorization" not in request["headers"] and "Cookie" not in request["headers"]
    tags = private_ws.get_run(run.id).tags
    assert tags[OWNER] == "carol" and tags[NOTIFIED].endswith("Z")
    assert tags[WEBHOOKS] == f"http://127.0.0.1:{receiver.port}/… delivered"
    assert "s3cr3t-path" not in caplog.text and "t0ken" not in caplog.text
    assert f"posted to http://127.0.0.1:{receiver.port}/…" in caplog.text


def test_success_posts_only_when_asked_and_a_canceled_run_never(private_ws):
    done = _scheduled_run(private_ws, "completed")
    with Receiver() as receiver:
        told = notify_run_finished(private_ws, _schedule(receiver.url("/")), {"id": done.id})
        assert told is None
        assert receiver.requests == []  # on failure only, by default
        again = _scheduled_run(private_ws, "completed")
        _wait(notify_run_finished(private_ws, _schedule(receiver.url("/"), ("failure", "success")),
                                  {"id": again.id}))
        assert [json.loads(r["body"])["status"] for r in receiver.requests] == ["completed"]
        canceled = _scheduled_run(private_ws, "canceled")
        assert notify_run_finished(private_ws, _schedule(receiver.url("/"), ("failure", "success")),
                                   {"id": canceled.id}) is None
        for status in ("killed", "timed_out"):
            ended = _scheduled_run(private_ws, status)
            _wait(notify_run_finished(private_ws, _schedule(receiver.url("/")), {"id": ended.id}))
        assert [json.loads(r["body"])["status"] for r in receiver.requests] == [
            "completed", "killed", "timed_out"]


def test_one_notice_per_run_however_many_schedulers_see_it_end(any_ws):
    private_ws = _allowing_private(any_ws)
    run = _scheduled_run(private_ws, "failed")
    others = [Workspace.open(private_ws.root) for _ in range(3)]  # other processes' views
    threads, barrier = [], threading.Barrier(4)

    def see_it_end(ws):
        barrier.wait()
        threads.append(notify_run_finished(ws, schedule, {"id": run.id}))

    with Receiver() as receiver:
        schedule = _schedule(receiver.url("/once"))
        watchers = [threading.Thread(target=see_it_end, args=(w,)) for w in [private_ws, *others]]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join(30)
        posting = [t for t in threads if t is not None]
        assert len(posting) == 1
        _wait(posting[0])
        assert len(receiver.requests) == 1
        assert notify_run_finished(private_ws, schedule, {"id": run.id}) is None
        assert len(receiver.requests) == 1
    for other in [private_ws, *others]:
        other.close()


def test_a_busy_receiver_is_tried_again_and_a_wrong_url_is_not(private_ws, monkeypatch):
    monkeypatch.setattr(notify, "BACKOFF_S", (0.1, 0.2))
    with Receiver([(503, {}), (500, {}), (200, {})]) as flaky, \
            Receiver([(500, {})]) as down, Receiver([(404, {})]) as wrong:
        run = _scheduled_run(private_ws, "failed")
        schedule = _schedule(flaky.url("/a"))
        schedule["notify"] += [{"url": down.url("/b"), "on": ["failure"]},
                               {"url": wrong.url("/c"), "on": ["failure"]}]
        _wait(notify_run_finished(private_ws, schedule, {"id": run.id}))
        assert (len(flaky.requests), len(down.requests), len(wrong.requests)) == (3, 3, 1)
    said = private_ws.get_run(run.id).tags[WEBHOOKS].split("; ")
    assert said[0] == f"http://127.0.0.1:{flaky.port}/… delivered"
    assert said[1].endswith(f"/… answered 500 Internal Server Error (after 3 tries)")
    assert "answered 404 Not Found: check its URL" in said[2]


def test_it_never_raises_and_checks_the_address_again_when_sending(ws, caplog):
    """The workspace does not allow private webhooks: a loopback URL stored anyway (e.g. before
    the owner turned the setting off) is refused when sending, and nothing reaches it."""
    run = _scheduled_run(ws, "failed")
    with Receiver() as receiver, caplog.at_level(logging.INFO, "jupyter_mlws"):
        url = receiver.url("/x/s3cr3t")
        _wait(notify_run_finished(ws, _schedule(url), {"id": run.id}))
        assert receiver.requests == []
        assert notify_run_finished(ws, _schedule(url), {"id": "0123456789abcdef"}) is None
        assert notify_run_finished(ws, None, {"id": run.id}) is None
    assert "refused: 127.0.0.1 is a loopback address" in ws.get_run(run.id).tags[WEBHOOKS]
    assert "no run '0123456789abcdef'" in caplog.text and "s3cr3t" not in caplog.text


def test_a_listings_redacted_url_is_never_posted(private_ws):
    run = _scheduled_run(private_ws, "failed")
    with Receiver() as receiver:
        shown = redact_url(receiver.url("/x/s3cr3t"))
        assert shown == f"http://127.0.0.1:{receiver.port}/…"
        _wait(notify_run_finished(private_ws, _schedule(shown), {"id": run.id}))
        assert receiver.requests == []
    assert "give the stored schedule" in private_ws.get_run(run.id).tags[WEBHOOKS]


def test_the_notices_the_live_events_read(any_ws):
    ws = any_ws
    before = _scheduled_run(ws, "failed")
    assert ws.schedule_notices.claim(before.id, schedule="nightly", owner="carol")
    watch = ws.schedule_notices.watch()
    assert watch.poll() == []  # a baseline: what was told before the server watched is not
    first = _scheduled_run(ws, "completed")
    assert ws.schedule_notices.claim(first.id, schedule="nightly", owner="carol")
    assert not ws.schedule_notices.claim(first.id, schedule="nightly", owner="mallory")
    (seen,) = watch.poll()
    assert seen == {"run_id": first.id, "status": "completed", "schedule": "nightly",
                    "nominal": NOMINAL, "trigger": "tick", "owner": "carol", "at": seen["at"]}
    assert watch.poll() == []
    # a run started with Trigger now says so (the notification must not call its time a fire time)
    manual = ws.experiment("nightly").start_run(snapshot=False, outputs=None, tags={
        "mlws.schedule": "nightly", "mlws.schedule.nominal": NOMINAL,
        "mlws.schedule.trigger": "manual"})
    manual.end("completed")
    assert ws.schedule_notices.claim(manual.id, schedule="nightly", owner="carol")
    assert [n["trigger"] for n in watch.poll()] == ["manual"]
    # a notice whose transaction committed late (stamped 5 s before the newest seen) still
    # arrives; one stamped before the slack window does not
    late, stale = _scheduled_run(ws, "failed"), _scheduled_run(ws, "failed")
    ws.runs.set_tags(late.id, {NOTIFIED: notify._earlier(seen["at"], 5), OWNER: "rita"})
    ws.runs.set_tags(stale.id, {NOTIFIED: notify._earlier(seen["at"], 120), OWNER: "rita"})
    assert [(n["run_id"], n["owner"]) for n in watch.poll()] == [(late.id, "rita")]
    assert watch.poll() == []


def test_turning_private_webhooks_off_holds_without_a_restart(private_ws):
    """An owner who removes ``webhooks_allow_private`` from mlws.toml stops private webhooks in
    every scheduler already running (the setting is read at each send, not at start)."""
    allowed = _scheduled_run(private_ws, "failed")
    config = private_ws.root / "mlws.toml"
    with Receiver() as receiver:
        url = receiver.url("/hook")
        _wait(notify_run_finished(private_ws, _schedule(url), {"id": allowed.id}))
        assert len(receiver.requests) == 1
        config.write_text(config.read_text().replace("webhooks_allow_private = true",
                                                     "webhooks_allow_private = false"))
        refused = _scheduled_run(private_ws, "failed")  # the same open workspace: no restart
        _wait(notify_run_finished(private_ws, _schedule(url), {"id": refused.id}))
        assert len(receiver.requests) == 1
    assert "refused: 127.0.0.1 is a loopback address" in private_ws.get_run(refused.id).tags[WEBHOOKS]
