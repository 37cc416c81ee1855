"""Which pod changes wake a reconcile: only a pod becoming (or ceasing to be) stuck."""

from __future__ import annotations

from typing import Any

from litemaas_operator.controller.cache import Store
from litemaas_operator.controller.relevance import fingerprint, pod_signal, wakes


def pod(rv: int, *, waiting: str | None = None, unschedulable: bool = False, **status: Any):
    containers = [{"name": "backend", "ready": False, "restartCount": 0, "state": {}}]
    if waiting:
        containers[0]["state"] = {"waiting": {"reason": waiting, "message": "back-off"}}
    conditions = [{"type": "PodScheduled", "status": "True"}]
    if unschedulable:
        conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    return {
        "metadata": {
            "name": "lm-backend-abc",
            "namespace": "ns",
            "resourceVersion": str(rv),
            "labels": {"app.kubernetes.io/instance": "lm"},
        },
        "spec": {"nodeName": "node-1" if not unschedulable else None},
        "status": {"phase": "Pending", "conditions": conditions, "containerStatuses": containers}
        | status,
    }


def test_a_pod_starting_normally_wakes_nobody() -> None:
    created, scheduled, running = pod(1), pod(2), pod(3, phase="Running")
    running["status"]["containerStatuses"][0] |= {"ready": True, "state": {"running": {}}}
    assert pod_signal(created) is None and pod_signal(running) is None
    assert not wakes("Pod", None, fingerprint("Pod", created))  # added
    assert not wakes("Pod", fingerprint("Pod", scheduled), fingerprint("Pod", running))
    assert not wakes("Pod", fingerprint("Pod", running), None)  # deleted (rollout)


def test_a_pod_getting_stuck_or_unstuck_wakes_its_instance() -> None:
    healthy = fingerprint("Pod", pod(1))
    pulling = fingerprint("Pod", pod(2, waiting="ErrImagePull"))
    assert wakes("Pod", healthy, pulling) and wakes("Pod", pulling, healthy)
    assert wakes("Pod", None, fingerprint("Pod", pod(1, unschedulable=True)))  # added stuck
    assert wakes("Pod", pulling, None)  # a stuck pod went
    # The kubelet alternating ErrImagePull / ImagePullBackOff is the same verdict: no wake.
    assert not wakes("Pod", pulling, fingerprint("Pod", pod(3, waiting="ImagePullBackOff")))
    # A crash loop's restarts do not wake it once per restart.
    looping = pod(4, waiting="CrashLoopBackOff")
    again = pod(5, waiting="CrashLoopBackOff")
    again["status"]["containerStatuses"][0]["restartCount"] = 7
    assert fingerprint("Pod", looping) == fingerprint("Pod", again)
    # Done or going away: no longer judged (stuck.pod_findings), so no longer stuck.
    assert pod_signal(pod(6, waiting="ErrImagePull", phase="Failed")) is None


def test_other_kinds_still_wake_on_appearing_and_going() -> None:
    assert wakes("Deployment", None, b"x") and wakes("Deployment", b"x", None)


def test_a_signals_only_store_answers_a_list_only_when_there_is_no_pod() -> None:
    store = Store("Pod", "v1", {}, wanted=set())
    store.listed(("ns", None), [], 1)
    assert store.select("ns", "app.kubernetes.io/instance=lm") == []  # certainly none
    store.put(pod(2))
    assert store.items[("ns", "lm-backend-abc")].data is None  # contents are not kept
    assert not isinstance(store.select("ns", "app.kubernetes.io/instance=lm"), list)
