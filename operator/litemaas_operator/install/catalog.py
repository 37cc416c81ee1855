"""The OLM file-based catalog (``catalog/``), built from the same source as the bundle.

A file-based catalog is three kinds of documents: one ``olm.package``, one ``olm.channel`` per
channel (its entries and their ``replaces``/``skipRange`` make the upgrade graph), and one
``olm.bundle`` per version. Each bundle here carries its manifests inline (``olm.bundle.object``
properties) and names no bundle image, exactly as ``opm render bundle/`` renders a bundle
directory: OLM v0 then installs from the catalog alone, with no unpack Job (none could run on
a cluster without a container runtime, and none is needed to install from a catalog).

``hack/gen_install.py`` writes ``catalog/`` from here (``install.generated_files``); a test
compares the bundle document with ``opm render bundle/`` and runs ``opm validate catalog/``;
the OLM e2e test builds a 0.1.1 bundle and catalog from the same functions to test an upgrade.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import yaml

from .. import __version__
from . import olm
from .common import GENERATED, IMAGE, IMAGE_REPOSITORY, NAME, dump, dump_all
from .olm import BUNDLE_ANNOTATIONS, ICON_SVG

PACKAGE = NAME
CHANNEL = BUNDLE_ANNOTATIONS["operators.operatorframework.io.bundle.channels.v1"]
CATALOG_FILE = f"catalog/{PACKAGE}/catalog.yaml"
CSV_FILE = f"{NAME}.clusterserviceversion.yaml"


def csv_name(version: str) -> str:
    """The CSV (and catalog bundle) name of a version: ``litemaas-operator.v<version>``."""
    return f"{NAME}.v{version}"


BUNDLE_MANIFESTS = "bundle/manifests/"


def _manifests_of(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The documents of ``bundle/manifests/`` among generated files (one per file, as OLM
    wants), parsed from their text as opm parses the files."""
    return {
        rel.removeprefix(BUNDLE_MANIFESTS): yaml.safe_load(text)
        for rel, text in files.items()
        if rel.startswith(BUNDLE_MANIFESTS)
    }


def bundle_manifests(
    root: Path,
    version: str = __version__,
    replaces: str | None = None,
    skip_range: str | None = None,
) -> dict[str, dict[str, Any]]:
    """``bundle/manifests/<file>`` -> its document, for ``version``.

    The defaults give the committed bundle, whatever it holds. Another version retargets the
    CSV (name, ``spec.version``, the operator image) and may name the CSV it ``replaces`` and
    the ``olm.skipRange`` it covers, as a release's bundle would.
    """
    manifests = _manifests_of(olm.files(root))
    doc = manifests[CSV_FILE]
    if version != __version__:
        doc = json.loads(json.dumps(doc).replace(IMAGE, f"{IMAGE_REPOSITORY}:{version}"))
        doc["metadata"]["name"] = csv_name(version)
        doc["spec"]["version"] = version
    if skip_range:
        doc["metadata"]["annotations"]["olm.skipRange"] = skip_range
    if replaces:
        doc["spec"]["replaces"] = replaces
    manifests[CSV_FILE] = doc
    return manifests


def bundle_files(root: Path, **retarget: Any) -> dict[str, str]:
    """A bundle directory (``manifests/``, ``metadata/``): relative path -> text.

    ``retarget`` is passed to :func:`bundle_manifests` (version, replaces, skip_range).
    """
    files = {
        f"manifests/{name}": GENERATED + dump_all([doc])
        for name, doc in bundle_manifests(root, **retarget).items()
    }
    files["metadata/annotations.yaml"] = GENERATED + dump({"annotations": BUNDLE_ANNOTATIONS})
    return files


def _go_json(obj: Any) -> bytes:
    """JSON as Go's ``encoding/json`` writes an unstructured object: sorted keys, compact,
    ``<``, ``>``, ``&`` escaped. opm encodes each bundle object this way, so the catalog's
    base64 is byte-for-byte what ``opm render`` gives."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def _property(kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "value": value}


def catalog_bundle(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``olm.bundle`` document of a bundle's manifests, as ``opm render <dir>`` makes it.

    Properties: the package and version, one ``olm.gvk`` per version of each CRD shipped, and
    one ``olm.bundle.object`` per manifest (base64 of its JSON), sorted as opm sorts them.
    """
    doc = next(d for d in manifests.values() if d["kind"] == "ClusterServiceVersion")
    props = [_property("olm.package", {"packageName": PACKAGE, "version": doc["spec"]["version"]})]
    for crd in manifests.values():
        if crd["kind"] != "CustomResourceDefinition":
            continue
        for served in crd["spec"]["versions"]:
            gvk = {
                "group": crd["spec"]["group"],
                "kind": crd["spec"]["names"]["kind"],
                "version": served["name"],
            }
            props.append(_property("olm.gvk", gvk))
    objects = [
        _property("olm.bundle.object", {"data": base64.b64encode(_go_json(m)).decode()})
        for m in manifests.values()
    ]

    # opm sorts by type, then by the value's JSON, and then moves the objects to the end.
    def order(prop: dict[str, Any]) -> tuple[str, str]:
        return prop["type"], json.dumps(prop["value"], separators=(",", ":"))

    props = sorted(props, key=order) + sorted(objects, key=order)
    return {
        "schema": "olm.bundle",
        "name": doc["metadata"]["name"],
        "package": PACKAGE,
        # No bundle image: the objects above are the bundle (no unpack Job).
        "image": "",
        "properties": props,
        "relatedImages": sorted(
            copy.deepcopy(doc["spec"].get("relatedImages", [])), key=lambda i: i["image"]
        ),
    }


def channel_entry(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A channel entry for a bundle: its name, and the CSV's ``replaces`` and ``olm.skipRange``."""
    doc = manifests[CSV_FILE]
    entry: dict[str, Any] = {"name": doc["metadata"]["name"]}
    if doc["spec"].get("replaces"):
        entry["replaces"] = doc["spec"]["replaces"]
    skip_range = doc["metadata"]["annotations"].get("olm.skipRange")
    if skip_range:
        entry["skipRange"] = skip_range
    return entry


def package() -> dict[str, Any]:
    """The ``olm.package`` document."""
    return {
        "schema": "olm.package",
        "name": PACKAGE,
        "defaultChannel": CHANNEL,
        "description": "Deploys and runs LiteMaaS, an LLM models-as-a-service portal, from one "
        "LiteMaaS resource.",
        "icon": {
            "base64data": base64.b64encode(ICON_SVG.encode()).decode(),
            "mediatype": "image/svg+xml",
        },
    }


def catalog(root: Path, bundles: list[dict[str, dict[str, Any]]] | None = None) -> list[dict]:
    """Package, channel and bundles; by default the one bundle of ``bundle/``.

    ``bundles`` (each from :func:`bundle_manifests`) are listed oldest first; the channel's
    entries follow from each CSV's ``replaces`` and ``olm.skipRange``.
    """
    bundles = bundles if bundles is not None else [bundle_manifests(root)]
    channel = {
        "schema": "olm.channel",
        "name": CHANNEL,
        "package": PACKAGE,
        "entries": [channel_entry(m) for m in bundles],
    }
    return [package(), channel, *(catalog_bundle(m) for m in bundles)]


def catalog_text(docs: list[dict[str, Any]]) -> str:
    """The catalog file's text (YAML documents; opm reads YAML and JSON alike)."""
    return GENERATED + dump_all(docs)


def catalog_files(root: Path, files: dict[str, str]) -> dict[str, str]:
    """``catalog/`` (path relative to the repo root -> content) for the generated ``files``,
    whose ``bundle/manifests/`` it carries."""
    return {CATALOG_FILE: catalog_text(catalog(root, [_manifests_of(files)]))}
