#!/usr/bin/env python3
"""Write (or with ``--check``, verify) the generated install files.

    hack/gen_install.py           write manifests/, the chart's generated files, bundle/, catalog/
    hack/gen_install.py --check   exit 1 naming every stale file

The content comes from the ``litemaas_operator.install`` package, the one source of truth for
the RBAC rules, the operator Deployment and the CRD of all three install paths.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

from litemaas_operator.install import generated_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Write or check every generated file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in generated_files(ROOT).items():
        path = ROOT / rel
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {rel}")
    if stale:
        print("stale (run hack/gen_install.py):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
