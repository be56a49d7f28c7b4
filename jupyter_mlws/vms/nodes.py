"""What the workspace does to nodes at a provider, through a libcloud driver: make one (tagged,
with the VM's login key), find a VM's nodes by id or tag, wait for a state, destroy them, and
the errors of it all in words a user can act on.

Every node the workspace makes carries three tags: ``mlws:workspace`` (the workspace's id),
``mlws:vm`` (the VM's id) and ``mlws:owner``.  A VM's nodes are found by its recorded node id
*and* by its ``mlws:vm`` tag, so a node made by a call that failed (a time-out after the cloud
made it) is found and destroyed too.  A key pair imported for a VM is named
``mlws-WORKSPACE8-VM_ID``.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from ..errors import InvalidInput, MlwsError
from .providers import AUTH, KEY_PAIR, METADATA, Provider

TAG_WORKSPACE, TAG_VM, TAG_OWNER = "mlws:workspace", "mlws:vm", "mlws:owner"
#: sizes or images an error lists at most
SHOWN = 12


class ProviderFailed(MlwsError):
    """A provider call failed (raised by the driver); ``str`` is safe to show."""

    reason = "unavailable"


def unreachable(exc: BaseException) -> tuple[str, str] | None:
    """``("HOST:PORT", why)`` (HOST:PORT ``"?"`` when not said) when ``exc`` says the provider's API endpoint could not be reached
    (requests' connection errors and time-outs, a socket error), else None."""
    import re

    try:
        from requests.exceptions import ConnectionError as Refused, Timeout
    except ImportError:  # pragma: no cover - libcloud needs requests
        Refused = Timeout = ()
    if not isinstance(exc, (Refused, Timeout, ConnectionError, TimeoutError)):
        return None
    text = str(exc)
    where = re.search(r"host='([^']+)', port=(\d+)", text)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    reason = (errno.group(1).strip() if errno else
              "timed out" if isinstance(exc, (Timeout, TimeoutError)) or "timed out" in text
              else "the connection failed")
    return (f"{where.group(1)}:{where.group(2)}" if where else "?"), reason


def why(exc: BaseException) -> str:
    """A provider error's first line, safe to show (libcloud's messages name the API's error,
    never the credentials); an endpoint that cannot be reached is said so (:func:`unreachable`),
    not as the raw exception."""
    if isinstance(exc, MlwsError):
        return str(exc)
    if (found := unreachable(exc)) is not None:
        return f"cannot reach the endpoint {found[0]}: {found[1]}"
    text = str(getattr(exc, "value", "") or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def tags_of(node) -> dict[str, str]:
    """A node's tags, wherever its driver keeps them (``tags``, ``metadata``, ``labels``)."""
    extra = node.extra or {}
    for key in ("tags", "metadata", "labels"):
        value = extra.get(key)
        if isinstance(value, Mapping):
            if isinstance(value.get("items"), list):  # GCE's metadata
                return {i.get("key"): i.get("value") for i in value["items"] if isinstance(i, dict)}
            return {str(k): str(v) for k, v in value.items()}
    return {}


def key_pair_name(workspace_id: str, vm_id: str) -> str:
    return f"mlws-{workspace_id[:8]}-{vm_id}"


def _raise_unreachable(exc: BaseException, provider: Provider, step: str) -> None:
    """ProviderFailed "cannot reach the PROVIDER endpoint HOST:PORT (step): why" when ``exc``
    says the endpoint could not be reached (:func:`unreachable`)."""
    found = unreachable(exc)
    if found is not None:
        raise ProviderFailed(f"cannot reach the {provider.name} endpoint {found[0]} ({step}): "
                             f"{found[1]}: check the credentials secret's host, port and secure, "
                             "and the network") from None


def size_of(driver, provider: Provider, size: str):
    """The driver's ``NodeSize`` with id ``size``, else InvalidInput listing some of those there are."""
    try:
        sizes = driver.list_sizes()
    except Exception as exc:  # noqa: BLE001 - any driver error is the provider's
        _raise_unreachable(exc, provider, "listing its sizes")
        raise ProviderFailed(f"the {provider.name} provider's sizes could not be listed: "
                             f"{why(exc)}") from None
    for candidate in sizes:
        if candidate.id == size:
            return candidate
    ids = sorted(s.id for s in sizes)
    more = f", ... ({len(ids)} in all)" if len(ids) > SHOWN else ""
    raise InvalidInput(f"the {provider.name} provider has no size {size!r}: use one of "
                       f"{', '.join(ids[:SHOWN])}{more}")


def image_of(driver, provider: Provider, image: str | None):
    """The driver's ``NodeImage`` ``image`` (default: the provider's default image), else
    InvalidInput."""
    image = image or provider.default_image
    if image is None:
        raise InvalidInput(f"the {provider.name} provider needs --image (an image id of its own)")
    try:
        return driver.get_image(image)
    except NotImplementedError:
        pass
    except MlwsError:
        raise  # the provider's own words (the local provider: its Python cannot be run)
    except Exception as exc:  # noqa: BLE001 - the provider does not know it
        _raise_unreachable(exc, provider, f"looking up image {image!r}")
        raise InvalidInput(f"the {provider.name} provider has no image {image!r}: "
                           f"{why(exc)}") from None
    try:
        images = driver.list_images()
    except Exception as exc:  # noqa: BLE001
        _raise_unreachable(exc, provider, "listing its images")
        raise ProviderFailed(f"the {provider.name} provider's images could not be listed: "
                             f"{why(exc)}") from None
    for candidate in images:
        if image in (candidate.id, candidate.name):
            return candidate
    raise InvalidInput(f"the {provider.name} provider has no image {image!r}: use one of "
                       f"{', '.join(sorted(i.id for i in images)[:SHOWN])}")


def create(driver, provider: Provider, *, name: str, size, image, tags: dict[str, str],
           public_key: str, user: str | None, key_name: str, extra: Mapping[str, Any]):
    """Make the node: tagged ``tags``, its login key installed the provider's way."""
    from libcloud.compute.base import NodeAuthSSHKey

    kwargs = dict(extra)
    metadata = dict(tags)
    if provider.key_install == AUTH:
        kwargs["auth"] = NodeAuthSSHKey(public_key)
    elif provider.key_install == KEY_PAIR:
        driver.import_key_pair_from_string(key_name, public_key)
        kwargs["ex_keyname"] = key_name
    elif provider.key_install == METADATA:
        metadata["ssh-keys"] = f"{user}:{public_key}"
    return driver.create_node(name=name, size=size, image=image, ex_metadata=metadata, **kwargs)


def live(node) -> bool:
    from libcloud.compute.types import NodeState

    return node.state not in (NodeState.TERMINATED,)


def find(driver, *, vm_id: str, node_id: str | None) -> list:
    """The live nodes that are the VM's: its recorded id, or tagged with its id."""
    return [n for n in driver.list_nodes() if live(n)
            and ((node_id is not None and n.id == node_id) or tags_of(n).get(TAG_VM) == vm_id)]


def destroy(driver, nodes) -> None:
    """Destroy ``nodes``; ProviderFailed when the provider refuses one."""
    for node in nodes:
        if driver.destroy_node(node) is False:
            raise ProviderFailed(f"the provider refused to destroy node {node.id}")


def drop_key_pair(driver, provider: Provider, key_name: str) -> None:
    """Delete the key pair imported for a VM, if the provider has one by that name."""
    if provider.key_install != KEY_PAIR:
        return
    for pair in driver.list_key_pairs():
        if pair.name == key_name:
            driver.delete_key_pair(pair)


def wait_running(driver, provider: Provider, node):
    """``(node, addresses)`` once the node runs with an address; ProviderFailed after the
    provider's boot time-out."""
    try:
        [(node, addresses)] = driver.wait_until_running(
            [node], wait_period=provider.wait_period, timeout=provider.boot_timeout,
            ssh_interface=provider.ssh_interface)
    except Exception as exc:  # noqa: BLE001 - LibcloudError, the API's errors
        raise ProviderFailed(f"node {node.id} did not come up: {why(exc)}") from None
    return node, addresses


def wait_state(driver, provider: Provider, node, state) -> None:
    """Wait until the node is in ``state`` (a libcloud ``NodeState``), or gone when ``state`` is
    None; ProviderFailed after the provider's boot time-out."""
    deadline = time.monotonic() + provider.boot_timeout
    pause = min(provider.wait_period, 0.05)
    while True:
        found = [n for n in driver.list_nodes() if n.id == node.id and live(n)]
        if (state is None and not found) or (found and found[0].state == state):
            return
        if time.monotonic() > deadline:
            now = found[0].state if found else "gone"
            raise ProviderFailed(f"node {node.id} is still {now} after {provider.boot_timeout:g} s")
        time.sleep(pause)
        pause = min(pause * 2, provider.wait_period)
