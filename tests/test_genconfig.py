"""`central genconfig` produces what iotedgedev 3.3.9 produces, and a manifest that validates.

The reference outputs in tests/manifests/expected were recorded with iotedgedev 3.3.9 from two frozen
solutions: tests/manifests/solution (a copy of this repository's template, Blob Storage patch and module.json
files) and tests/manifests/edgecases (the odd corners of its expansion). To record again:

    python3 -m venv /tmp/iotedgedev-venv && /tmp/iotedgedev-venv/bin/pip install iotedgedev==3.3.9
    cp -r tests/manifests/solution /tmp/s && mv /tmp/s/env /tmp/s/.env && cd /tmp/s &&
    env -i PATH=/usr/bin:/bin HOME=/tmp/s iotedgedev solution genconfig -P arm32v7

iotedgedev has no merge patches: the Blob Storage reference comes from the template with the patch merged
in (`genconfig.merge_patch`), saved as deployment.blobstorage.template.json. When iotedgedev is installed
(IOTEDGEDEV=/path/to/iotedgedev, or on PATH), the slow test also compares against it live on this
repository's current files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central import genconfig
from central.commands import genconfig as genconfig_command
from central.validate import validate_document, validate_file
from tests.json_strategies import JSON, PLACES, put

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = Path(__file__).parent / "manifests"
TEMPLATE = "deployment.template.json"
BLOB_PATCH = "deployment.blobstorage.json"
RECORDED = [
    ("solution", (), "arm32v7", "deployment.arm32v7.json"),
    ("solution", (), "amd64", "deployment.amd64.json"),
    ("solution", (BLOB_PATCH,), "arm32v7", "deployment.blobstorage.arm32v7.json"),
    ("edgecases", (), "amd64", "edgecases.amd64.json"),
    ("edgecases", (), "arm32v7", "edgecases.arm32v7.json"),
]


def run_genconfig(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    genconfig_command.register(parser.add_subparsers())
    args = parser.parse_args(["genconfig", *argv])
    return int(args.func(args))


@pytest.mark.parametrize(("solution", "patches", "platform", "expected"), RECORDED)
def test_output_equals_recorded_iotedgedev_output(
    solution: str, patches: tuple[str, ...], platform: str, expected: str
) -> None:
    folder = MANIFESTS / solution
    environment = genconfig.load_environment(folder / "env", base={})
    expansion = genconfig.generate(folder / TEMPLATE, platform, environment, [folder / p for p in patches])
    assert expansion.manifest == json.loads((MANIFESTS / "expected" / expected).read_text())
    named_after = folder / (patches[-1] if patches else TEMPLATE)
    assert genconfig.manifest_name(named_after, expansion.schema_template, platform, environment) == (
        expected.replace("edgecases.", "deployment.")
    )


def test_merge_patch_follows_rfc_7386() -> None:
    merge = genconfig.merge_patch
    assert merge({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge({"a": "foo"}, None) is None
    assert merge(["a"], {"a": "b"}) == {"a": "b"}
    assert merge({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_expansion_is_os_path_expandvars(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {"A": "$B", "B": "b", "EMPTY": "", "naïve": "x", "MODULES": "m"}
    text = "$A ${A} $B${B} $EMPTY| $UNSET ${UNSET} ${} $ $1 $naïve ${MODULES.camera} $MODULES.camera $$B"
    monkeypatch.setattr(os, "environ", environment)  # posixpath.expandvars reads os.environ when called
    assert genconfig.expand_variables(text, environment) == os.path.expandvars(text)
    assert genconfig.expand_variables(text, environment).startswith("$B $B bb | $UNSET ${UNSET}")


def test_process_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("SHARED=from-file\nONLY_FILE=${SHARED}-interpolated\nNO_VALUE\n")
    environment = genconfig.load_environment(env_file, base={"SHARED": "from-process"})
    assert environment["SHARED"] == "from-process"
    assert environment["ONLY_FILE"] == "from-file-interpolated"
    assert "NO_VALUE" not in environment


def test_create_options_are_cut_at_512_characters() -> None:
    options = {"Labels": {"x": "y" * 1100}}
    text = json.dumps(options, separators=(",", ":"))
    settings: dict[str, object] = {"createOptions": options}
    genconfig.chunk_create_options(settings, "/m")
    assert settings == {"createOptions": text[:512], "createOptions01": text[512:1024], "createOptions02": text[1024:]}


def test_create_options_text_is_cut_as_it_is() -> None:
    settings: dict[str, object] = {"createOptions": "x" * 512}
    genconfig.chunk_create_options(settings, "/m")
    assert settings == {"createOptions": "x" * 512}


def test_create_options_over_eight_pieces_name_the_module() -> None:
    settings: dict[str, object] = {"createOptions": {"Labels": {"x": "y" * 4096}}}
    with pytest.raises(genconfig.GenconfigError, match=r"/modules/camera/settings/createOptions: 41\d\d characters"):
        genconfig.chunk_create_options(settings, "/modules/camera")


def test_manifest_names_follow_iotedgedev() -> None:
    name = genconfig.manifest_name
    assert name(Path("deployment.template.json"), "4.0.0", "arm64v8", {}) == "deployment.arm64v8.json"
    assert name(Path("edge.json"), "4.0.0", "amd64", {}) == "edge.amd64.json"
    assert name(Path("deployment.template.json"), "", "amd64", {}) == "deployment.json"
    assert name(Path("x.template.json"), "4.0.0", "amd64", {"DEPLOYMENT_CONFIG_FILE": "pi.json"}) == "pi.json"


def test_repository_template_generates_a_valid_arm32v7_manifest(tmp_path: Path) -> None:
    code = run_genconfig(
        "-P", "arm32v7", "--template", str(ROOT / "deployment.template.json"),
        "--env", str(ROOT / ".env.example"), "-o", str(tmp_path),
    )  # fmt: skip
    manifest = tmp_path / "deployment.arm32v7.json"
    assert code == 0
    assert validate_file(manifest) == []
    images = {m["settings"]["image"] for m in _agent(manifest)["modules"].values()}
    assert all(image.endswith(":0.1.0-arm32v7") for image in images)


def test_blob_storage_patch_adds_the_module_and_points_photos_at_it(tmp_path: Path) -> None:
    code = run_genconfig(
        "-P", "arm64v8", "--template", str(ROOT / TEMPLATE), "--merge", str(ROOT / BLOB_PATCH),
        "--env", str(ROOT / ".env.example"), "-o", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    modules = _agent(tmp_path / "deployment.blobstorage.arm64v8.json")["modules"]
    assert modules["blobstorage"]["settings"]["image"].startswith("mcr.microsoft.com/azure-blob-storage:")
    for name in ("camera", "vision"):
        assert "BlobEndpoint=http://blobstorage:11002/" in modules[name]["env"]["STORAGE_CONNECTION_STRING"]["value"]


@pytest.mark.parametrize("patches", [(), (BLOB_PATCH,)])
def test_env_example_defines_every_variable_the_templates_read(patches: tuple[str, ...]) -> None:
    environment = genconfig.load_environment(ROOT / ".env.example", base={})
    expansion = genconfig.generate(ROOT / TEMPLATE, "arm32v7", environment, [ROOT / p for p in patches])
    assert validate_document(expansion.manifest) == []


def test_every_env_example_variable_is_documented() -> None:
    names = genconfig.load_environment(ROOT / ".env.example", base={})
    reference = (ROOT / "docs" / "configuration.md").read_text()
    assert [name for name in names if f"`{name}`" not in reference] == []


def test_a_variable_missing_from_env_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = json.loads((ROOT / "deployment.template.json").read_text())
    template["modulesContent"]["camera"]["properties.desired"]["photos_container"] = "$CENTRAL_TEST_UNDEFINED"
    (tmp_path / "deployment.template.json").write_text(json.dumps(template))
    code = run_genconfig(
        "--template", str(tmp_path / "deployment.template.json"), "--env", str(ROOT / ".env.example"),
        "-o", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "/modulesContent/camera/properties.desired/photos_container: unexpanded variable" in capsys.readouterr().err


def test_a_value_that_breaks_the_json_text_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "deployment.template.json").write_text('{\n  "modulesContent": {"x": "$QUOTED"}\n}\n')
    with pytest.raises(genconfig.GenconfigError, match=r"deployment.template.json: line 2 column \d+: not valid JSON"):
        genconfig.generate(tmp_path / "deployment.template.json", "amd64", {"QUOTED": 'say "hi"'})


def test_a_module_folder_placeholder_without_module_json_is_an_error(tmp_path: Path) -> None:
    template = json.loads((MANIFESTS / "edgecases" / "deployment.template.json").read_text())
    (tmp_path / "deployment.template.json").write_text(json.dumps(template))
    with pytest.raises(genconfig.GenconfigError, match=r"extra/gamma/module.json: not found"):
        genconfig.generate(tmp_path / "deployment.template.json", "amd64", {})


@settings(max_examples=150, deadline=None)
@given(place=st.sampled_from(PLACES), value=JSON)
def test_any_json_anywhere_expands_or_fails_clearly(
    tmp_path_factory: pytest.TempPathFactory, place: tuple[str, ...], value: object
) -> None:
    folder = tmp_path_factory.mktemp("solution")
    template = put(json.loads((ROOT / "deployment.template.json").read_text()), place, value)
    (folder / "deployment.template.json").write_text(json.dumps(template))
    try:
        genconfig.generate(folder / "deployment.template.json", "arm32v7", {})
    except genconfig.GenconfigError as e:
        assert str(e).startswith(str(folder))


def _agent(manifest: Path) -> dict:
    return json.loads(manifest.read_text())["modulesContent"]["$edgeAgent"]["properties.desired"]


def _iotedgedev() -> str | None:
    return os.environ.get("IOTEDGEDEV") or shutil.which("iotedgedev")


def _solution_copy(source: Path, destination: Path) -> Path:
    """This repository's solution (template, module.json, .env.example as .env) in `destination`.

    iotedgedev has no merge patches, so the Blob Storage patch is merged into a second template.
    """
    shutil.copy(source / TEMPLATE, destination)
    shutil.copy(source / BLOB_PATCH, destination)
    merged = genconfig.merge_patch(
        json.loads((source / TEMPLATE).read_text()), json.loads((source / BLOB_PATCH).read_text())
    )
    (destination / "deployment.blobstorage.template.json").write_text(json.dumps(merged))
    for module_json in source.glob("modules/*/module.json"):
        (destination / module_json.parent.relative_to(source)).mkdir(parents=True)
        shutil.copy(module_json, destination / module_json.relative_to(source))
    shutil.copy(source / ".env.example", destination / ".env")
    return destination


@pytest.mark.slow
@pytest.mark.skipif(_iotedgedev() is None, reason="iotedgedev is not installed (set IOTEDGEDEV or put it on PATH)")
@pytest.mark.parametrize("patches", [(), (BLOB_PATCH,)])
@pytest.mark.parametrize("platform", genconfig.PLATFORMS)
def test_output_equals_live_iotedgedev(tmp_path: Path, patches: tuple[str, ...], platform: str) -> None:
    solution = _solution_copy(ROOT, tmp_path)
    theirs = "deployment.blobstorage.template.json" if patches else TEMPLATE
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    subprocess.run(
        [str(_iotedgedev()), "solution", "genconfig", "-f", theirs, "-P", platform],
        cwd=solution, env=clean_env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    environment = genconfig.load_environment(solution / ".env", base=clean_env)
    ours = genconfig.generate(solution / TEMPLATE, platform, environment, [solution / p for p in patches])
    name = genconfig.manifest_name(
        solution / (patches[-1] if patches else TEMPLATE), ours.schema_template, platform, environment
    )
    assert ours.manifest == json.loads((solution / "config" / name).read_text())
