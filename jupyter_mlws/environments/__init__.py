"""Environments: a kernel's environment as a reproducible spec, built on compute targets.

- :mod:`.probe`: what an interpreter has installed (standard library only, runs anywhere);
- :mod:`.spec`: :class:`~.spec.EnvironmentSpec` and its hash (a run's ``env_hash``), diffs;
- :mod:`.interpreters`: the spec of a kernel's interpreter;
- :mod:`.shell`: the tiny interface a target is reached through (:class:`~.shell.Shell`);
- :mod:`.builder` and :mod:`.build_env`: building a venv keyed by the hash on a target;
- :mod:`.wheels`: local packages' wheels, built once per content;
- :mod:`.service`: :class:`~.service.EnvironmentService`, what every face calls.

Nothing heavy is imported here: ``import jupyter_mlws`` in a kernel stays light.
"""
