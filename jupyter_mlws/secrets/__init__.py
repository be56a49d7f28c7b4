"""Secrets: the workspace's key vault.

- :mod:`.names`: the rules for names, values and a run's ``NAME[=ENVVAR]``;
- :mod:`.keyfile`: the key file (mode 0600, apart from the database), its keys and their ids;
- :mod:`.vault`: AES-GCM encryption of values, bound to their name and version;
- :mod:`.service`: :class:`~.service.SecretService`, what every face calls (metadata, versions,
  soft delete, audit, the secrets of runs);
- :mod:`.rotation`: re-encrypting every version under a new key without downtime;
- :mod:`.masking`: values (and their base64 and URL-encoded forms) masked in what runs print.

Importing this package loads none of them: each is imported where it is used.
"""
