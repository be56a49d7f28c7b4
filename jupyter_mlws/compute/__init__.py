"""Compute: where a run's work executes.

:mod:`.base` declares a target (submit, poll, cancel, logs), :mod:`.registry` names the
backends (built inside the Workspace, imported only when first used), and :mod:`.local`
is this machine: the one home of detached spawn, process-group signals and the checks that a
recorded process is still the one the workspace started.
"""
