"""Schedules: notebooks and pipelines run on a cron, exactly once per tick, however many
schedulers watch the workspace.

- :mod:`.spec`: what a schedule is made of, checked, and how it is shown;
- :mod:`.records`: the ``schedules`` and ``schedule_runs`` tables;
- :mod:`.service`: ``ws.schedules`` (create, update, pause, resume, delete, get, list, runs,
  trigger, preview);
- :mod:`.runner`: a tick's run recorded in its claim's transaction, started, retried, settled;
- :mod:`.watch`: what the scheduler host (:mod:`jupyter_mlws.scheduler`) runs for them;
- :mod:`.webhooks`: webhook URLs checked (SSRF rules) and posted;
- :mod:`.notify`: what an ended run tells its schedule's webhooks and owner.
"""
