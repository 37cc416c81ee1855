"""The file-based catalog (catalog/): the bundle of bundle/, inline, as opm renders it.

``opm`` is operator-registry's, built from Go modules (``hack/tools.sh opm``; the opm tests fail
without it, as the bundle validator's do). The structure checks run everywhere.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from litemaas_operator import __version__, install
from litemaas_operator.install import catalog as fbc

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "catalog"
CATALOG_FILE = REPO / fbc.CATALOG_FILE


def docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(CATALOG_FILE.read_text()) if d]


def of_schema(schema: str) -> list[dict[str, Any]]:
    return [d for d in docs() if d["schema"] == schema]


def objects(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads(base64.b64decode(p["value"]["data"]))
        for p in bundle["properties"]
        if p["type"] == "olm.bundle.object"
    ]


def test_one_package_one_channel_one_bundle() -> None:
    (package,) = of_schema("olm.package")
    (channel,) = of_schema("olm.channel")
    (bundle,) = of_schema("olm.bundle")
    assert package["name"] == bundle["package"] == channel["package"] == "litemaas-operator"
    assert package["defaultChannel"] == channel["name"] == "alpha"
    assert channel["entries"] == [{"name": install.CSV_NAME}]
    assert bundle["name"] == install.CSV_NAME


def test_the_bundle_is_carried_inline_and_is_bundle_dir() -> None:
    """No bundle image (OLM would unpack it with a Job); the objects are bundle/manifests/."""
    (bundle,) = of_schema("olm.bundle")
    assert bundle["image"] == ""
    committed = [
        yaml.safe_load(p.read_text()) for p in sorted((REPO / "bundle/manifests").glob("*.yaml"))
    ]

    def key(obj: dict[str, Any]) -> str:
        return json.dumps(obj, sort_keys=True)

    assert sorted(objects(bundle), key=key) == sorted(committed, key=key)
    props = {(p["type"], json.dumps(p["value"], sort_keys=True)) for p in bundle["properties"]}
    assert ("olm.package", json.dumps({"packageName": fbc.PACKAGE, "version": __version__})) in {
        (t, json.dumps(json.loads(v))) for t, v in props
    }
    gvks = {json.loads(v)["kind"] for t, v in props if t == "olm.gvk"}
    assert gvks == {
        c["spec"]["names"]["kind"] for c in committed if c["kind"] == "CustomResourceDefinition"
    }
    assert "LiteMaaS" in gvks


def test_another_version_replaces_and_skips_the_previous() -> None:
    nxt = fbc.bundle_manifests(
        REPO, version="0.1.1", replaces=install.CSV_NAME, skip_range=">=0.1.0 <0.1.1"
    )
    csv = nxt[fbc.CSV_FILE]
    assert csv["metadata"]["name"] == "litemaas-operator.v0.1.1"
    assert csv["spec"]["version"] == "0.1.1"
    assert csv["spec"]["replaces"] == install.CSV_NAME
    assert csv["metadata"]["annotations"]["olm.skipRange"] == ">=0.1.0 <0.1.1"
    image = f"{install.IMAGE_REPOSITORY}:0.1.1"
    deployment = csv["spec"]["install"]["spec"]["deployments"][0]["spec"]
    assert deployment["template"]["spec"]["containers"][0]["image"] == image
    assert {"name": "operator", "image": image} in csv["spec"]["relatedImages"]
    assert install.IMAGE not in json.dumps(csv)
    channel = fbc.catalog(REPO, [fbc.bundle_manifests(REPO), nxt])[1]
    assert channel["entries"] == [
        {"name": install.CSV_NAME},
        {
            "name": csv["metadata"]["name"],
            "replaces": install.CSV_NAME,
            "skipRange": ">=0.1.0 <0.1.1",
        },
    ]
    # The committed bundle is unchanged by default.
    assert fbc.bundle_manifests(REPO)[fbc.CSV_FILE] == install.csv(REPO)


def _opm() -> Path:
    out = subprocess.run(
        [str(REPO / "hack/tools.sh"), "path", "opm"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        pytest.fail("opm is not built: run `hack/tools.sh opm` (make setup does)")
    return Path(out.stdout.strip())


def opm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(_opm()), *args], capture_output=True, text=True, check=False)


def test_opm_validates_the_catalog() -> None:
    out = opm("validate", str(CATALOG))
    assert out.returncode == 0, out.stderr


def test_opm_validate_catches_a_broken_channel(tmp_path: Path) -> None:
    broken = [d for d in docs() if d["schema"] != "olm.bundle"]
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/catalog.yaml").write_text(yaml.safe_dump_all(broken))
    out = opm("validate", str(tmp_path))
    assert out.returncode != 0
    assert install.CSV_NAME in out.stderr


def test_opm_render_of_bundle_dir_is_the_catalogs_bundle() -> None:
    """The generator writes byte for byte what `opm render bundle/` gives."""
    out = opm("render", str(REPO / "bundle"), "-o", "json")
    assert out.returncode == 0, out.stderr
    (bundle,) = of_schema("olm.bundle")
    assert json.loads(out.stdout) == bundle
