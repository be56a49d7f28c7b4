"""Compute: where a run's work executes.

:mod:`.base` declares a target (submit, poll, cancel, logs), :mod:`.registry` names the
backends (built inside the Workspace, imported only when first used), and :mod:`.local`
is this machine: the one home of detached spawn, process-group signals and the checks that a
recorded process is still the one the workspace started.

:mod:`.targets` keeps the workspace's named targets as records (``local`` built in, ssh hosts,
Dask schedulers; their settings checked by :mod:`.settings`), :mod:`.checks` is ``compute
test``, :mod:`.failures` and :mod:`.network` name the step a remote target failed at, and
:mod:`.ssh` is the SSH layer (paramiko, loaded only when a target connects).
"""
