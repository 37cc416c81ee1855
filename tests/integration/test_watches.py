"""The operator's own watches against a real API server: filtered by it, resumed, relisted.

They run in-process here (not in the operator) so that a test can start them from a stale
resourceVersion, restart the API server under them, and see each event they report.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from harness.waiting import wait_until
from litemaas_operator.controller.cache import Caches
from litemaas_operator.controller.kube import Kube
from litemaas_operator.controller.registry import Registry
from litemaas_operator.controller.watches import (
    MANAGED_SELECTOR,
    ListWatch,
    Watches,
    watch_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

MANAGED = {"app.kubernetes.io/managed-by": "litemaas-operator"}
T = TypeVar("T")


async def _until(probe: Callable[[], object], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.1)


def _configmap(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"k": "v"},
    }


class LoopThread:
    """An event loop in a thread of its own, for the watch under test.

    The test's own thread restarts the API server: the harness starts it with a parent-death
    signal bound to the starting thread, so it must not be a worker thread that ends.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(coro)


async def _stop(task: asyncio.Task[None]) -> bool:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return task.cancelled()


def test_a_child_watch_sees_only_labelled_objects_relists_and_survives_an_apiserver_restart(
    cluster: Any, namespace: str
):
    loop = LoopThread()
    kube = loop.run(watch_client(str(cluster.kubeconfig)))
    seen: list[str] = []
    try:
        if cluster.owned:
            # A restarted API server's watch cache starts at the current resourceVersion, so
            # a watch from "1" is answered 410 Gone (a fresh one may still serve it).
            cluster.restart_apiserver()
        loop.run(_create(kube, namespace, "before", MANAGED))
        watch = ListWatch(
            kube,
            "ConfigMap",
            namespace,
            MANAGED_SELECTOR,
            lambda meta: seen.append(meta["name"]),
            kube.served_groups,
            resource_version="1",  # too old: 410 Gone, so the watch lists
        )
        task = loop.run(_start(watch.run()))
        wait_until(lambda: "before" in seen, 10, what="the listed ConfigMap reported")
        if cluster.owned:
            assert watch.lists == 1 and watch.watches >= 1
        # What was listed is in the watch's store, stripped of managedFields.
        listed = watch.objects.get(namespace, "before")
        assert isinstance(listed, dict) and listed["data"] == {"k": "v"}
        assert "managedFields" not in listed["metadata"]

        loop.run(_create(kube, namespace, "unlabelled", {}))
        loop.run(_create(kube, namespace, "labelled", MANAGED))
        wait_until(lambda: "labelled" in seen, 10, what="the new labelled ConfigMap reported")
        loop.run(kube.delete("ConfigMap", "labelled", namespace))
        wait_until(lambda: seen.count("labelled") >= 2, 10, what="its deletion reported")
        assert "unlabelled" not in seen  # the server never sent it
        wait_until(lambda: (namespace, "labelled") not in watch.objects.items, 10)
        assert (namespace, "unlabelled") not in watch.objects.items

        if cluster.owned:
            cluster.restart_apiserver(downtime=2.0)
            loop.run(_create(kube, namespace, "after-restart", MANAGED))
            wait_until(lambda: "after-restart" in seen, 40, what="an event after the restart")
            assert (namespace, "after-restart") in watch.objects.items
        assert loop.run(_stop(task))
    finally:
        loop.run(kube.close())
        loop.close()


def test_routes_are_watched_only_where_they_are_served(cluster: Any, namespace: str):
    async def scenario() -> tuple[int, int]:
        kube = await watch_client(str(cluster.kubeconfig))
        try:
            watch = ListWatch(
                kube, "Route", namespace, MANAGED_SELECTOR, lambda _: None, kube.served_groups
            )
            task = asyncio.create_task(watch.run())
            await asyncio.sleep(2)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return watch.lists, watch.watches
        finally:
            await kube.close()

    lists, watches = asyncio.run(scenario())
    if cluster.flavour == "openshift":
        assert lists == 1 and watches == 1
    else:
        assert lists == 0 and watches == 0  # no API, no requests, no errors


def test_secrets_are_watched_in_a_namespace_while_a_cr_there_reads_one(
    cluster: Any, namespace: str
):
    async def scenario() -> None:
        kube = await watch_client(str(cluster.kubeconfig))
        registry = Registry()
        watches = Watches(kube, registry, (namespace,))
        cr = (namespace, "litemaas")
        woken = registry.trigger(cr)
        try:
            watches.start()
            # Nobody reads Secrets yet.
            assert {key[0] for key in watches.tasks} == {"child", "pods", "day2", "cluster"}
            registry.reads(cr, {(namespace, "my-jwt")})
            assert ("referenced", "Secret", namespace) in watches.tasks

            await asyncio.sleep(1)  # listed: nothing to report yet
            woken.clear()
            await kube.create(_secret(namespace, "someone-elses"))
            await kube.create(_secret(namespace, "my-jwt"))
            await _until(woken.is_set, 10, "the reader woken by its Secret")

            registry.reads(cr, set())  # the CR no longer reads it: the watch stops
            ending = list(watches.ending)
            assert ("referenced", "Secret", namespace) not in watches.tasks and ending
            await asyncio.gather(*ending, return_exceptions=True)
            assert all(task.cancelled() for task in ending)
            running = list(watches.tasks.values())
        finally:
            await watches.stop()
            await kube.close()
        assert running and all(task.done() for task in running)

    asyncio.run(scenario())


def test_a_pod_getting_stuck_wakes_its_instance_and_a_pod_starting_normally_does_not(
    cluster: Any, namespace: str
):
    async def scenario() -> None:
        kube = await watch_client(str(cluster.kubeconfig))
        registry = Registry()
        caches = Caches()
        watches = Watches(kube, registry, (namespace,), caches)
        woken = registry.trigger((namespace, "litemaas"))
        try:
            watches.start()
            await _until(lambda: caches.watching("Pod", namespace), 10, "the pods listed")
            woken.clear()
            # Scheduled and started by the harness's node: news for its Deployment, not here.
            await kube.create(_pod(namespace, "starts", {}))
            path = f"/api/v1/namespaces/{namespace}/pods/starts"
            for _ in range(150):
                pod = await kube.request("GET", path)
                if (pod.get("status") or {}).get("phase") == "Running":
                    break
                await asyncio.sleep(0.2)
            else:
                raise TimeoutError("pod starts not Running within 30 s")
            await asyncio.sleep(1)
            assert not woken.is_set(), "a pod that started normally woke its instance"
            # No node has this label: the scheduler says Unschedulable, which only the pod shows.
            await kube.create(_pod(namespace, "stuck", {"litemaas.io/no-such-node": "x"}))
            await _until(woken.is_set, 30, "the instance woken by its stuck pod")
            # Only fingerprints are kept: the pods themselves are still listed from the API.
            assert not isinstance(caches.list("Pod", namespace, None), list)
        finally:
            await watches.stop()
            await kube.close()

    asyncio.run(scenario())


def _pod(namespace: str, name: str, node_selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**MANAGED, "app.kubernetes.io/instance": "litemaas"},
        },
        "spec": {
            "containers": [{"name": "c", "image": "registry.example/c:1"}],
            "nodeSelector": node_selector,
        },
    }


def _secret(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"jwt": "value"},
    }


async def _create(kube: Any, namespace: str, name: str, labels: dict[str, str]) -> None:
    obj = _configmap(name, labels)
    obj["metadata"]["namespace"] = namespace
    await kube.create(obj)


class CountingKube(Kube):
    """A reconciler's client that counts what it sends to the API server, by method."""

    sent: list[str]

    async def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(method)
        return await super().request(method, path, **kwargs)


def test_reads_come_from_the_store_writes_show_at_once_and_others_changes_arrive(
    cluster: Any, namespace: str
):
    async def scenario() -> None:
        caches = Caches()
        watch_kube = await watch_client(str(cluster.kubeconfig))
        other = await watch_client(str(cluster.kubeconfig))  # someone behind our back
        reader = CountingKube((await watch_client(str(cluster.kubeconfig))).api, caches)
        reader.sent = []
        watches = Watches(watch_kube, Registry(), (namespace,), caches)
        store = caches.store("ConfigMap", "v1", MANAGED)
        selector = f"app.kubernetes.io/instance=a,{MANAGED_SELECTOR}"
        try:
            await _create(
                other, namespace, "listed", {**MANAGED, "app.kubernetes.io/instance": "a"}
            )
            watches.start()
            await _until(lambda: store.covers(namespace), 10, "the ConfigMap store synced")
            await _until(lambda: (namespace, "listed") in store.items, 10, "listed")

            # Reads: no request.
            assert [
                o["metadata"]["name"] for o in await reader.list("ConfigMap", namespace, selector)
            ] == ["listed"]
            assert (await reader.get("ConfigMap", "listed", namespace))["data"] == {"k": "v"}
            assert reader.sent == []

            # Our write: the very next read shows it, before any watch event could.
            written = _configmap("written", {**MANAGED, "app.kubernetes.io/instance": "a"})
            written["metadata"]["namespace"] = namespace
            written["data"] = {"k": "mine"}
            answer = await reader.apply(written)
            got = await reader.get("ConfigMap", "written", namespace)
            assert got["metadata"]["resourceVersion"] == answer["metadata"]["resourceVersion"]
            assert got["data"] == {"k": "mine"}

            # Someone else's change and deletion reach the store through the watch.
            await other.patch("ConfigMap", "listed", namespace, {"data": {"k": "theirs"}})
            await _until(
                lambda: _data(store.get(namespace, "listed")) == {"k": "theirs"},
                10,
                "the outside change in the store",
            )
            await other.delete("ConfigMap", "written", namespace)
            await _until(lambda: (namespace, "written") not in store.items, 10, "deletion seen")
            names = [
                o["metadata"]["name"] for o in await reader.list("ConfigMap", namespace, selector)
            ]
            assert names == ["listed"]
            assert reader.sent == ["PATCH"]  # the apply; every read came from the store

            # A read the store cannot answer (no selector of its own) goes to the API server.
            assert await reader.get("ConfigMap", "not-ours", namespace) is None
            assert reader.sent == ["PATCH", "GET"]
        finally:
            await watches.stop()
            for kube in (watch_kube, other, reader):
                await kube.close()

    asyncio.run(scenario())


def _data(obj: object) -> object:
    return obj.get("data") if isinstance(obj, dict) else None
