"""``python -m nnport``: the same as the ``nnport`` command."""

from nnport.cli import main

main()
