"""The names of the secrets the workspace makes for each notebook VM, in one place: its SSH
login key (``mlws-vm-VM_ID``, made when it is provisioned, :mod:`.steps`) and its JupyterLab's
token (``mlws-vm-VM_ID-lab``, :mod:`.lab`).  Made and deleted with the VM, never a user's pick:
the secrets listing marks them with their VM (:func:`vm_secrets`)."""

from __future__ import annotations

from typing import Iterable, Mapping


def key_secret(vm: Mapping) -> str:
    """The name of the secret holding ``vm``'s SSH login key (``vm``: a record with ``id``)."""
    return f"mlws-vm-{vm['id']}"


def token_secret(vm: Mapping) -> str:
    """The name of the secret holding ``vm``'s JupyterLab token."""
    return f"{key_secret(vm)}-lab"


def vm_secrets(vms: Iterable[Mapping]) -> dict[str, str]:
    """``{secret name: VM name}`` of the secrets made for ``vms`` (records with ``id`` and
    ``name``; deleted VMs' too, so that their deleted secrets are marked as well)."""
    return {name: vm["name"] for vm in vms for name in (key_secret(vm), token_secret(vm))}
