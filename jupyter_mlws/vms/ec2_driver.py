"""The ``ec2`` provider's driver: libcloud's ``EC2NodeDriver``, reading the EC2 API's XML whether
its namespace ends with a slash (AWS: ``http://ec2.amazonaws.com/doc/2016-11-15/``, what libcloud
looks names up in) or not (moto's server, the API server the README's "Try EC2 on moto" and the
tests use: without this every list comes back empty, an image lookup fails with ``IndexError``
and an error's code and message are lost); and looking an image up by id with an empty answer
said as such.

Registered by :mod:`.providers` with ``set_driver`` under ``mlws_ec2`` when an ec2 VM first needs
it; its constructor is libcloud's (``key``, ``secret``, ``region``, ``token``, ``host``,
``port``, ``secure``, ``signature_version``).
"""

from __future__ import annotations

from libcloud.compute.drivers.ec2 import API_VERSION, EC2Connection, EC2NodeDriver, EC2Response

#: the namespace as libcloud reads it, and as moto writes it
_EXPECTED = f'xmlns="http://ec2.amazonaws.com/doc/{API_VERSION}/"'
_WITHOUT_SLASH = f'xmlns="http://ec2.amazonaws.com/doc/{API_VERSION}"'


def same_namespace(body):
    """``body`` (str or bytes) with the EC2 namespace written as libcloud reads it."""
    if isinstance(body, bytes):
        return body.replace(_WITHOUT_SLASH.encode(), _EXPECTED.encode(), 1)
    return body.replace(_WITHOUT_SLASH, _EXPECTED, 1) if isinstance(body, str) else body


def no_namespace(body):
    """An error ``body`` without the EC2 namespace (libcloud finds ``Errors/Error`` in AWS's errors,
    which have none; moto's have one)."""
    for ns in (_WITHOUT_SLASH, _EXPECTED):
        if isinstance(body, bytes):
            body = body.replace(b" " + ns.encode(), b"", 1)
        elif isinstance(body, str):
            body = body.replace(" " + ns, "", 1)
    return body


class _Response(EC2Response):
    def parse_body(self):
        self.body = same_namespace(self.body)
        return super().parse_body()

    def parse_error(self):
        self.body = no_namespace(self.body)
        return super().parse_error()


class _Connection(EC2Connection):
    responseCls = _Response


class EC2Driver(EC2NodeDriver):
    """libcloud's EC2 driver, namespace-tolerant (see the module's text)."""

    connectionCls = _Connection

    def get_image(self, image_id: str):
        """The image ``image_id``; LookupError when the API lists none by that id (in this
        region)."""
        images = self.list_images(ex_image_ids=[image_id])
        if not images:
            raise LookupError(f"no such image in region {self.region_name}")
        return images[0]
