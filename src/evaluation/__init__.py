"""Scoring a model: word accuracy (:mod:`.metrics`) and benchmark runs (:mod:`.scoring`).

``from src.evaluation import evaluate_set`` (the module this package replaced) keeps working for one release.
"""
from .scoring import *  # noqa: F401,F403
from .scoring import SET_FOLDERS  # noqa: F401
