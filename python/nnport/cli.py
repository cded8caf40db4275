"""``python -m nnport``: the ``nnport`` command from Python.

The installed ``nnport`` command is the engine's native executable, which hands
``verify`` and ``weights`` (they need the frameworks) to this module. Here, ``verify``
and ``weights`` run in Python and every other command (``convert``, ``inspect``,
``catalog``, ``plan``) is the C++ engine's own command line, in process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "verify":
        from . import verify

        sys.exit(verify.main(args[1:]))
    if args and args[0] == "weights":
        from . import weights

        sys.exit(weights.main(args[1:]))

    from . import _core

    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_core.run_cli(args))


if __name__ == "__main__":
    main()
