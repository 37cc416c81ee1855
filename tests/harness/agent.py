"""The harness's in-cluster helpers as one process: ``python -m harness.agent``.

Runs the PV provisioner, the volume resizer and, with ``--router-domain``, the fake OpenShift
router against a kubeconfig until SIGTERM. ``control_plane`` starts it beside the Kubernetes
components.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from kubernetes import config as kube_config

from .provisioner import Provisioner
from .resizer import Resizer
from .router import FakeRouter


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="harness.agent", description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--volumes-dir", required=True, type=Path)
    parser.add_argument("--router-domain", help="run the fake router with this apps domain")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    def factory():  # each loop gets its own client: ApiClient is not shared across threads
        return kube_config.new_client_from_config(config_file=args.kubeconfig)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Provisioner(factory, args.volumes_dir).start()
    Resizer(factory).start()
    if args.router_domain:
        FakeRouter(factory, args.router_domain).start()
    stop.wait()


if __name__ == "__main__":
    main()
