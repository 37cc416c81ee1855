"""Command line of the harness, called by ``hack/cluster.sh up|down|env|status``."""

from __future__ import annotations

import argparse
import sys
import time

from . import config, control_plane


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hack/cluster.sh")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start a local control plane")
    p_up.add_argument("--flavour", choices=control_plane.FLAVOURS, default="openshift")
    p_up.add_argument("--domain", default=config.DEFAULT_DOMAIN, help="apps domain (openshift)")
    for name, help_ in (("down", "stop a cluster"), ("env", "print `export KUBECONFIG=...`")):
        sub.add_parser(name, help=help_)
    sub.add_parser("status", help="list clusters")
    for p in sub.choices.values():
        p.add_argument("--name", default="default", help="cluster name (default: default)")
    args = parser.parse_args(argv)

    if args.command == "up":
        existing = control_plane.ControlPlane.load(args.name)
        if existing is not None and existing.alive("kube-apiserver"):
            print(f"cluster {args.name!r} is already up ({existing.flavour})", file=sys.stderr)
        else:
            control_plane.down(args.name)  # leftovers of a crashed or half-stopped cluster
            start = time.monotonic()
            try:
                existing = control_plane.up(args.name, args.flavour, domain=args.domain)
            except (config.MissingBinariesError, control_plane.HarnessError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(
                f"cluster {args.name!r} ({args.flavour}) up in {time.monotonic() - start:.1f}s"
                f" at {existing.server}; logs in {existing.state_dir / 'logs'}",
                file=sys.stderr,
            )
        print(f"export KUBECONFIG={existing.kubeconfig}")
    elif args.command == "down":
        stopped = control_plane.down(args.name)
        print(
            f"cluster {args.name!r} {'stopped' if stopped else 'was not running'}", file=sys.stderr
        )
    elif args.command == "env":
        cp = control_plane.ControlPlane.load(args.name)
        if cp is None:
            print(f"error: no cluster {args.name!r}; run hack/cluster.sh up", file=sys.stderr)
            return 1
        print(f"export KUBECONFIG={cp.kubeconfig}")
    else:
        for cp in control_plane.list_clusters():
            state = "up" if cp.alive("kube-apiserver") else "down"
            owner = f" (pytest pid {cp.owner_pid})" if cp.owner_pid else ""
            print(f"{cp.name}\t{cp.flavour}\t{state}\t{cp.server}{owner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
