"""``python -m jupyter_mlws.cli``: the ``mlws`` command (spawned processes and benchmarks use it)."""

from jupyter_mlws.cli import main

main()
