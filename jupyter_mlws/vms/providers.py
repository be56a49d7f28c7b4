"""VM providers by name: apache-libcloud compute drivers, loaded when a VM first needs one.

The same shape as libcloud's own provider table (names to ``("module", "Class")`` imported
lazily): naming a provider costs nothing; ``local`` (:mod:`.local_driver`) is registered with
``libcloud.compute.providers.set_driver`` the first time it is built.  The Workspace builds one
registry with the local provider's settings; nothing is registered at import time.

A provider's **credentials** come from a workspace secret whose value is JSON (never argv, a
config file or a log)::

    {"key": "...", "secret": "...", "region": "eu-west-1",
     "host": "...", "port": 8443, "secure": true,      # an endpoint override (private clouds)
     "create": {"ex_...": "..."}}                      # extra keywords of create_node

Its fields are the keywords of the libcloud driver's constructor, by their libcloud names
(EC2: ``key``, ``secret``, ``region``, ``token``; GCE: ``user_id``, ``key``, ``project``,
``datacenter``; Azure: ``tenant_id``, ``subscription_id``, ``key``, ``secret``; OpenStack:
``key``, ``secret``, ``ex_force_auth_url``, ``ex_tenant_name``, ...); a field that is none of
them is refused (libcloud would ignore it).  ``create`` holds keywords ``create_node`` needs on
some clouds (Azure's resource group and network, ...).  An endpoint
override points the driver at another API server: an OpenStack or private cloud, or a test's
moto server.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import InvalidInput, Unavailable, missing_dependency

#: how the VM's login key reaches a new node: libcloud's ``auth=NodeAuthSSHKey`` (local, Azure),
#: a key pair imported at the provider and named in ``ex_keyname`` (EC2, OpenStack),
#: or the ``ssh-keys`` metadata item (GCE)
AUTH, KEY_PAIR, METADATA = "auth", "key_pair", "metadata"


@dataclass(frozen=True)
class Provider:
    """How the workspace uses one libcloud provider.

    Attributes
    ----------
    name : str
        What users type (``--provider ec2``).
    driver : str
        libcloud's provider constant (``"ec2"``), or ``"module:Class"`` for a driver of ours,
        registered with ``set_driver`` under ``"mlws_" + name``.
    ssh : bool
        Whether its nodes are reached over SSH (host key pinned, scripts run, runs executed).
        False for a provider whose nodes are records only (a test's API server); such VMs take
        no scripts and are no compute target.
    ssh_user : str or None
        The login name on its images (``--ssh-user`` overrides); None: the driver says it
        (``node.extra["ssh_user"]``).
    key_install : str
        :data:`AUTH`, :data:`KEY_PAIR` or :data:`METADATA`.
    ssh_interface : str
        Which of a node's addresses SSH uses: ``public_ips`` or ``private_ips``.
    wait_period, boot_timeout : float
        Seconds between two looks at a booting node, and the most a boot may take.
    credentials : bool
        Whether a credentials secret is required.
    default_image : str or None
        The image when ``--image`` is not given (None: it must be).
    defaults : mapping
        Keywords of the driver's constructor given unless the credentials give them.
    """

    name: str
    driver: str
    ssh: bool = True
    ssh_user: str | None = "ubuntu"
    key_install: str = KEY_PAIR
    ssh_interface: str = "public_ips"
    wait_period: float = 5.0
    boot_timeout: float = 600.0
    credentials: bool = True
    defaults: Mapping[str, Any] = field(default_factory=dict)
    default_image: str | None = None

    @property
    def libcloud_name(self) -> str:
        return f"mlws_{self.name}" if ":" in self.driver else self.driver


#: the providers this package knows, by name
PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("local", "jupyter_mlws.vms.local_driver:LocalNodeDriver", ssh_user=None,
             key_install=AUTH, wait_period=0.05, boot_timeout=30.0, credentials=False,
             default_image="host"),
    Provider("ec2", "jupyter_mlws.vms.ec2_driver:EC2Driver", defaults={"signature_version": "4"}),
    Provider("gce", "gce", ssh_user="mlws", key_install=METADATA),
    Provider("azure", "azure_arm", ssh_user="azureuser", key_install=AUTH),
    Provider("openstack", "openstack"),
)}


def _libcloud():
    try:
        import libcloud.compute.providers as providers
    except ImportError:
        raise missing_dependency("apache-libcloud", "vms") from None
    return providers


class ProviderRegistry:
    """The VM providers of one workspace.

    Parameters
    ----------
    settings : mapping of str to dict
        Keywords each provider's driver is built with besides its credentials (``local``:
        ``root``, ``user``, ``python``).
    providers : mapping of str to Provider, optional
        Default :data:`PROVIDERS`.
    """

    def __init__(self, settings: Mapping[str, Mapping[str, Any]] | None = None,
                 providers: Mapping[str, Provider] | None = None):
        self._providers = dict(PROVIDERS if providers is None else providers)
        self.settings = {k: dict(v) for k, v in (settings or {}).items()}

    def names(self) -> list[str]:
        return sorted(self._providers)

    def register(self, provider: Provider, **settings: Any) -> None:
        """Add (or replace) ``provider``, its driver built with ``settings``."""
        self._providers[provider.name] = provider
        self.settings[provider.name] = dict(settings)

    def get(self, name: object) -> Provider:
        """Provider ``name``, else InvalidInput listing the known ones."""
        if isinstance(name, str) and name in self._providers:
            return self._providers[name]
        raise InvalidInput(f"unknown vm provider {str(name)[:40]!r}: use one of "
                           f"{', '.join(self.names())}")

    def driver_class(self, provider: Provider):
        """The libcloud driver class of ``provider`` (ours registered with ``set_driver`` once)."""
        providers = _libcloud()
        key = provider.libcloud_name
        if ":" in provider.driver and key not in providers.DRIVERS:
            module, _, cls = provider.driver.partition(":")
            importlib.import_module(module)
            providers.set_driver(key, module, cls)
        try:
            return providers.get_driver(key)
        except (AttributeError, ImportError) as exc:
            raise Unavailable(f"the {provider.name} provider's libcloud driver cannot be loaded "
                              f"({type(exc).__name__}): install what it needs") from None

    def driver(self, name: str, credentials: Mapping[str, Any] | None = None,
               region: str | None = None):
        """A driver of provider ``name`` built with ``credentials`` (the secret's JSON, see the
        module's text) and ``region``.  InvalidInput for a keyword the driver does not take or a
        region it does not know (never showing a value of the credentials)."""
        provider = self.get(name)
        creds = dict(credentials or {})
        creds.pop("create", None)
        kwargs = {**provider.defaults, **self.settings.get(name, {}), **creds}
        if region is not None:
            kwargs["region"] = region
        cls = self.driver_class(provider)
        unknown = sorted(set(creds) - _keywords(cls))
        if unknown:
            raise InvalidInput(f"the credentials' field {unknown[0]!r} is no keyword of the "
                               f"{provider.name} driver: remove it (see the README, Notebook VMs, "
                               "for what each provider takes)")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InvalidInput(f"the {provider.name} driver cannot be built from its credentials: "
                               f"{_first_line(exc)}; the secret holds JSON with key, secret and "
                               "the driver's keywords (see the README, Notebook VMs)") from None
        except ValueError as exc:
            text = _first_line(exc)
            if "region" in text.lower():
                raise InvalidInput(f"the {provider.name} provider does not know region "
                                   f"{kwargs.get('region')!r} ({text})") from None
            raise InvalidInput(f"the {provider.name} driver refused its settings: {text}") from None


def _keywords(cls) -> set[str]:
    """The keywords the constructors along ``cls``'s classes name (libcloud's drivers take
    ``**kwargs`` too and ignore what they do not know: a typo would go unnoticed)."""
    import inspect

    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - {"self"}


def parse_credentials(text: str, secret: str) -> dict:
    """The JSON object of a credentials secret, else InvalidInput (never quoting the value)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidInput(f"secret {secret!r} does not hold a JSON object of credentials: set it "
                           'to {"key": "...", "secret": "...", "region": "..."} '
                           f"(mlws secret set {secret} --stdin < creds.json)")
    if "create" in data and not isinstance(data["create"], dict):
        raise InvalidInput(f"secret {secret!r}: its \"create\" field must be an object of "
                           "create_node keywords")
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
