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
- :mod:`.gc`: provider resources tagged for this workspace that no VM owns.

Nothing here imports libcloud or paramiko until a VM is created or reached.
"""
