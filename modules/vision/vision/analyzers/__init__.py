"""Analysers by name, imported only when chosen (the cloud SDKs are optional on a device)."""

from __future__ import annotations

from edgekit import BackendRegistry
from vision.analyzers.base import Analyzer, AnalyzerConfig

ANALYZERS: BackendRegistry[Analyzer] = BackendRegistry("vision")
ANALYZERS.register("local", "vision.analyzers.local:LocalAnalyzer", "opencv-python-headless<5")
ANALYZERS.register(
    "azure", "vision.analyzers.azure_v32:AzureV32Analyzer", "azure-cognitiveservices-vision-computervision"
)
ANALYZERS.register("azure-v4", "vision.analyzers.azure_v40:AzureV40Analyzer", "azure-ai-vision-imageanalysis")
ANALYZERS.register("hybrid", "vision.analyzers.hybrid:HybridAnalyzer", "the azure and local backends")


def create_analyzer(name: str, config: AnalyzerConfig) -> Analyzer:
    return ANALYZERS.create(name, config=config)
