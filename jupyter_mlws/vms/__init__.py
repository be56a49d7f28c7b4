"""Notebook VMs: machines the workspace creates on a cloud (through apache-libcloud) or on this
machine (the ``local`` provider), reachable over SSH, recorded with a state and its history.

- :mod:`.states`: the states of a VM and the legal transitions, in one place;
- :mod:`.spec`: what a VM is made of (name, provider, size, image, scripts, idle shutdown,
  schedule), checked before anything is recorded or any provider is called;
- :mod:`.records`: the ``vms`` and ``vm_events`` tables;
- :mod:`.providers`: provider names to libcloud drivers, built lazily with their credentials;
- :mod:`.local_driver` and :mod:`.local_node`: the ``local`` provider, a libcloud ``NodeDriver``
  whose nodes are sandboxed hosts on this machine, each with its own sshd on 127.0.0.1;
- :mod:`.bootstrap`: the steps run over SSH once a node is up (the setup script once, the
  startup script at every start), streamed to the VM's log;
- :mod:`.service`: the lifecycle (create, start, stop, restart, delete, list, show, logs), what
  every face calls as ``ws.vms``;
- :mod:`.gc`: provider resources tagged for this workspace that no VM owns;
- :mod:`.activity`: what a VM's Jupyter server says it is doing (its own REST API, read by an
  :class:`~.activity.ActivityProbe`);
- :mod:`.idle`: the one definition of idle and the decision it leads to (none, warn, stop);
- :mod:`.postpones`: the owner's "postpone 1 h" of an idle stop.

Start/stop schedules use the workspace's cron ticks (:mod:`jupyter_mlws.cron`,
:mod:`jupyter_mlws.ticks`, :mod:`jupyter_mlws.ticker`).

Nothing here imports libcloud or paramiko until a VM is created or reached.
"""
