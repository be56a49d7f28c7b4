"""Fault injection: 20 create/destroy cycles on a local-style driver failing on purpose after it
made a node, while the node boots, during bootstrap (a setup script that fails), and, for some,
when the node is destroyed (tests/vm_support.py's FaultyLocalDriver: real nodes, real sshd).

Every VM ends with its nodes destroyed (``failed``, or ``deleted`` once cleaned up) or
``orphaned`` with the command that cleans it up; gc then finds every node left on disk, none
more, and deleting them leaves nothing."""

from __future__ import annotations

import shutil

import pytest

from jupyter_mlws.vms.service import VMFailed
from vm_support import FAULTS, node_folders, register_faulty, vm_workspace

CYCLES = 20
STEPS = ("after_create", "wait", "bootstrap")


@pytest.fixture
def ws(sshd):
    workspace = vm_workspace()
    register_faulty(workspace)
    yield workspace
    FAULTS.clear()
    workspace.close()
    shutil.rmtree(workspace.root.parent, ignore_errors=True)


def test_failures_part_way_leave_no_node_that_gc_does_not_find(ws):
    outcomes = {}
    for i in range(CYCLES):
        name, step = f"cycle-{i}", STEPS[i % len(STEPS)]
        plan = {step} if step != "bootstrap" else set()
        if i % 4 == 0:
            plan.add("destroy")  # the clean-up fails too: the VM must end orphaned
        FAULTS[name] = plan
        setup = "echo failing on purpose\nexit 7\n" if step == "bootstrap" else None
        if i % 5 == 4:  # some cycles also succeed, then are deleted
            FAULTS[name] = set()
            ws.vms.create(name, provider="faulty", size="host")
            assert ws.vms.delete(name)["state"] == "deleted"
            outcomes[name] = "deleted"
            continue
        with pytest.raises(VMFailed) as failed:
            ws.vms.create(name, provider="faulty", size="host", setup_script=setup)
        vm = ws.vms.show(name)
        outcomes[name] = vm["state"]
        assert vm["state"] in ("failed", "orphaned"), vm
        expected_step = {"after_create": "create", "wait": "boot", "bootstrap": "bootstrap"}[step]
        assert vm["reason"].startswith(f"the {expected_step} step failed"), vm["reason"]
        if "destroy" in plan:
            assert vm["state"] == "orphaned"
            assert f"clean it up with 'mlws vm delete {name}'" in vm["reason"]
        else:
            assert vm["state"] == "failed" and "its node was destroyed" in vm["reason"]
        assert str(failed.value).startswith(f"vm {name!r} is {vm['state']}")

    assert set(outcomes.values()) == {"failed", "orphaned", "deleted"}
    orphaned = {n for n, s in outcomes.items() if s == "orphaned"}
    # what is left on disk is exactly what the orphaned VMs made, and gc finds all of it
    left = node_folders(ws, "faulty")
    found = ws.vms.gc()
    assert found["errors"] == []
    assert {i["id"] for i in found["leftovers"]} == left and left
    assert {i["vm"] for i in found["leftovers"]} == orphaned
    assert all(i["why"] == f"its vm {i['vm']!r} is orphaned" for i in found["leftovers"])

    FAULTS.clear()  # the provider works again
    done = ws.vms.gc(delete=True)
    assert done["deleted"] == len(left) and node_folders(ws, "faulty") == set()
    assert ws.vms.gc()["leftovers"] == []
    states = {v["name"]: v["state"] for v in ws.vms.list(deleted=True)}
    assert {states[n] for n in orphaned} == {"deleted"}  # gc finished them
    assert {s for n, s in states.items() if n not in orphaned} <= {"failed", "deleted"}
