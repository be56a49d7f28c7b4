"""Notebook VMs.

- :mod:`.activity`: what a VM's Jupyter server says it is doing (its own REST API, read by an
  :class:`~.activity.ActivityProbe`);
- :mod:`.idle`: the one definition of idle and the decision it leads to (none, warn, stop);
- :mod:`.postpones`: the owner's "postpone 1 h" of an idle stop.

Start/stop schedules use the workspace's cron ticks (:mod:`jupyter_mlws.cron`,
:mod:`jupyter_mlws.ticks`, :mod:`jupyter_mlws.ticker`).  Nothing here is imported by
``import jupyter_mlws``.
"""
