"""Sector classifier and message understanding: text in, labels and facts out.

No database and no WeChat here: the conversation and dispatch call
`SectorClassifier.predict()` and `extract()` and decide what to do.
"""
from bot.classifier.extraction import Extracted, extract
from bot.classifier.labels import NONE, SECTOR_KEYS, sector_names
from bot.classifier.model import ModelError, ModelVersionError, Prediction, SectorClassifier

__all__ = ["Extracted", "extract", "NONE", "SECTOR_KEYS", "sector_names", "ModelError", "ModelVersionError",
           "Prediction", "SectorClassifier"]
