"""Vision's environment and twin settings, including the desired block the deployment templates ship."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vision.settings import SETTINGS_SCHEMA, VisionEnv, analyzer_config, default_settings

from edgekit import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_hybrid_is_the_default_only_with_both_azure_settings() -> None:
    both = {"AZURE_VISION_ENDPOINT": "https://x.cognitiveservices.azure.com", "AZURE_VISION_KEY": "k"}
    assert VisionEnv.from_environ(both).backend == "hybrid"
    assert VisionEnv.from_environ({"AZURE_VISION_ENDPOINT": "https://x"}).backend == "local"
    assert VisionEnv.from_environ({**both, "VISION_BACKEND": "azure-v4"}).backend == "azure-v4"
    assert VisionEnv.from_environ({"VISION_BACKEND": "", "AZURE_VISION_KEY": ""}).backend == "local"  # unset in .env


def test_an_unknown_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="VISION_BACKEND='gpu'"):
        VisionEnv.from_environ({"VISION_BACKEND": "gpu"})


def test_the_key_never_appears_in_a_repr() -> None:
    env = VisionEnv.from_environ({"AZURE_VISION_ENDPOINT": "https://x", "AZURE_VISION_KEY": "s3cret"})
    assert "s3cret" not in repr(env) and "s3cret" not in repr(analyzer_config(default_settings(env), env))


def test_the_templates_desired_block_is_accepted_whole() -> None:
    desired = json.loads((ROOT / "deployment.template.json").read_text())["modulesContent"]["vision"][
        "properties.desired"
    ]
    settings = Settings(SETTINGS_SCHEMA, default_settings(VisionEnv("local")))
    assert settings.apply(desired).rejected == {}


def test_a_partial_patch_merges_and_a_bad_value_is_rejected_alone() -> None:
    env = VisionEnv("local")
    settings = Settings(SETTINGS_SCHEMA, default_settings(env))
    change = settings.apply({"thresholds": {"motion": 0.1}, "features": ["faces", "x-ray"], "backend": "azure-v4"})
    assert change.rejected == {
        "features": "1: 'x-ray' is not one of ['tags', 'caption', 'objects', 'faces', 'people', 'color', 'motion']"
    }
    config = analyzer_config(settings.values, env)
    assert config.thresholds.motion == 0.1 and config.thresholds.face_min_size == 40
    assert settings["backend"] == "azure-v4"
