"""The states of a notebook VM and the legal transitions between them: the one place that says
which change is allowed.

::

    creating -> bootstrapping -> running -> stopping -> stopped -> starting -> running
        \\              \\            \\                   \\           \\
         failed / orphaned      (restart: stopping, then starting)   failed
    any but deleted -> deleting -> deleted   (deleting -> orphaned when the node cannot be destroyed)

- ``failed``: a step failed; the reason says which and shows the end of the log.  The node was
  destroyed (during creation) or stopped (during a start); ``start`` tries again, ``delete``
  removes it.
- ``orphaned``: the workspace could not destroy a node it made: the reason holds the exact
  command that cleans it up (``mlws vm delete NAME``), and ``mlws compute gc`` lists it.
- ``deleted``: the record stays, with its history; deleting it again changes nothing.
"""

from __future__ import annotations

from ..errors import Conflict

CREATING, BOOTSTRAPPING, RUNNING = "creating", "bootstrapping", "running"
STOPPING, STOPPED, STARTING = "stopping", "stopped", "starting"
FAILED, ORPHANED, DELETING, DELETED = "failed", "orphaned", "deleting", "deleted"
STATES = (CREATING, BOOTSTRAPPING, RUNNING, STOPPING, STOPPED, STARTING, FAILED, ORPHANED,
          DELETING, DELETED)

#: state -> the states it may change to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CREATING: (BOOTSTRAPPING, RUNNING, FAILED, ORPHANED, DELETING),
    BOOTSTRAPPING: (RUNNING, FAILED, ORPHANED, DELETING),
    RUNNING: (STOPPING, FAILED, DELETING),
    STOPPING: (STOPPED, FAILED, ORPHANED, DELETING),
    STOPPED: (STARTING, DELETING),
    STARTING: (BOOTSTRAPPING, RUNNING, FAILED, DELETING),
    FAILED: (STARTING, STOPPING, DELETING),
    ORPHANED: (DELETING,),
    DELETING: (DELETED, ORPHANED),
    DELETED: (),
}
#: states in which a step is under way (a second action on the VM waits for it to end)
BUSY = (CREATING, BOOTSTRAPPING, STOPPING, STARTING, DELETING)
#: states whose node may still exist at the provider
HAS_NODE = tuple(s for s in STATES if s != DELETED)


def allowed(old: str, new: str) -> bool:
    """Whether a VM in state ``old`` may change to ``new``."""
    return new in TRANSITIONS.get(old, ())


def check(name: str, old: str, new: str, done: str) -> None:
    """Conflict, saying what the VM can do instead, unless ``old -> new`` is legal; ``done``
    names the action as a past participle (``"started"``)."""
    if allowed(old, new):
        return
    if old in BUSY:
        raise Conflict(f"vm {name!r} is {old}: wait until that ends ('mlws vm show {name}'); "
                       f"it cannot be {done} meanwhile")
    if old == DELETED:
        raise Conflict(f"vm {name!r} is deleted: create it again ('mlws vm create {name} ...')")
    can = sorted({_VERB.get(s, s) for s in TRANSITIONS.get(old, ()) if s in _VERB})
    hint = f"; a {old} vm can be: {', '.join(can)}" if can else ""
    raise Conflict(f"vm {name!r} is {old}: it cannot be {done}{hint}")


_VERB = {STOPPING: "stopped", STARTING: "started", DELETING: "deleted"}
