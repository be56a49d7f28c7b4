"""Leftovers: provider resources tagged for this workspace that no VM owns (``mlws compute gc``).

Every account the workspace's VMs were made in is looked at (each provider, credentials secret
and region a VM record names, deleted ones included, and the local provider).  A node tagged
``mlws:workspace`` with this workspace's id is a **leftover** unless a VM record owns it: a VM,
not deleted or orphaned, whose node id it is (or, while that VM is still ``creating``, tagged
with its id).  The nodes of ``orphaned`` VMs are leftovers too, and so are key pairs named for a
VM that no longer has a node.  :func:`leftovers` lists them, each with its **owner**: the
node's ``mlws:owner`` tag (a key pair's: its VM's owner; None when unknown).  Deleting one is
for its owner or a workspace owner (:func:`may_delete`).
"""

from __future__ import annotations

from . import nodes as N
from . import states as S


def accounts(records) -> list[tuple[str, str | None, str | None]]:
    """``(provider, credentials secret, region)`` of every VM ever recorded, and the local
    provider's, each once."""
    found = {("local", None, None)}
    found |= {(vm["provider"], vm["credentials_secret"], vm["region"])
              for vm in records.list(deleted=True)}
    return sorted(found, key=lambda a: tuple(x or "" for x in a))


def may_delete(item: dict, actor: str, owner_role: bool) -> bool:
    """Whether ``actor`` may delete leftover ``item``: a workspace owner (``owner_role``) any;
    anyone else only one whose owner is them."""
    return owner_role or (item["owner"] is not None and item["owner"] == actor)


def _owned(vm: dict | None, node) -> bool:
    if vm is None or vm["state"] in (S.DELETED, S.ORPHANED):
        return False
    return vm["node_id"] == node.id or (vm["state"] == S.CREATING and vm["node_id"] is None)


def leftovers(driver, provider, records, workspace_id: str) -> list[dict]:
    """The leftovers of one account: ``{"kind": "node"|"key_pair", "id", "name", "owner", "vm",
    "vm_state", "why", "resource"}`` (``resource``: the libcloud object, for :func:`delete`)."""
    out = []
    by_id = {}
    for node in driver.list_nodes():
        tags = N.tags_of(node)
        if tags.get(N.TAG_WORKSPACE) != workspace_id or not N.live(node):
            continue
        vm_id = tags.get(N.TAG_VM)
        vm = by_id.setdefault(vm_id, records.by_id(vm_id) if vm_id else None)
        if _owned(vm, node):
            continue
        why = ("no vm record" if vm is None else f"its vm {vm['name']!r} is {vm['state']}"
               if vm["state"] in (S.DELETED, S.ORPHANED, S.FAILED)
               else f"its vm {vm['name']!r} has node {vm['node_id']}, not this one")
        out.append({"kind": "node", "id": node.id, "name": node.name,
                    "owner": tags.get(N.TAG_OWNER) or None, "vm": vm["name"] if vm else None, "vm_state": vm["state"] if vm else None,
                    "vm_id": vm_id, "why": why, "resource": node})
    out += _key_pairs(driver, provider, records, workspace_id)
    return out


def _key_pairs(driver, provider, records, workspace_id: str) -> list[dict]:
    if provider.key_install != "key_pair":
        return []
    prefix = f"mlws-{workspace_id[:8]}-"
    out = []
    try:
        pairs = driver.list_key_pairs()
    except NotImplementedError:
        return []
    for pair in pairs:
        if not pair.name.startswith(prefix):
            continue
        vm = records.by_id(pair.name[len(prefix):])
        if vm is not None and vm["state"] not in (S.DELETED, S.ORPHANED) and \
                (vm["node_id"] is not None or vm["state"] == S.CREATING):
            continue
        out.append({"kind": "key_pair", "id": pair.name, "name": pair.name,
                    "owner": vm["owner"] if vm else None, "vm": vm["name"] if vm else None, "vm_state": vm["state"] if vm else None,
                    "vm_id": vm["id"] if vm else None,
                    "why": "no vm record" if vm is None else f"its vm is {vm['state']}",
                    "resource": pair})
    return out


def delete(driver, item: dict) -> None:
    """Destroy one leftover (a node, or a key pair)."""
    if item["kind"] == "node":
        N.destroy(driver, [item["resource"]])
    else:
        driver.delete_key_pair(item["resource"])
