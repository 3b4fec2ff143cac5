"""Read the IIIT5K ``.mat`` annotations (testdata/traindata and test/trainCharBound)."""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np

from ..errors import CrnnError

LABEL_FIELDS = ("GroundTruth", "chars")


class MatFormatError(CrnnError, ValueError):
    """The .mat file does not hold an IIIT5K annotation struct."""


def _text(value) -> str:
    """MATLAB char array / cell nesting -> Python str."""
    while isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        value = value.flat[0] if value.dtype == object or value.ndim > 1 else value[0]
    return str(value)


def _struct(mat: dict, path: str) -> Tuple[str, np.ndarray, str]:
    for key, value in mat.items():
        if key.startswith("__") or not isinstance(value, np.ndarray) or value.dtype.names is None:
            continue
        names = value.dtype.names
        label = next((f for f in LABEL_FIELDS if f in names), None)
        if "ImgName" in names and label:
            return key, value.ravel(), label
    found = [k for k in mat if not k.startswith("__")]
    raise MatFormatError(f"{path}: no IIIT5K struct with fields ImgName and GroundTruth/chars "
                         f"(variables found: {found or 'none'})")


def read_iiit5k_mat(path: str) -> Tuple[List[Tuple[str, str]], Optional[List[List[str]]], Optional[List[List[str]]]]:
    """((image name, word) list, small lexicons, medium lexicons); lexicons are None when absent."""
    from scipy.io import loadmat

    if not os.path.isfile(path):
        raise MatFormatError(f"mat file not found: {path}")
    try:
        mat = loadmat(path)
    except (ValueError, OSError, NotImplementedError) as err:
        raise MatFormatError(f"{path}: cannot read as a MATLAB .mat file ({err})") from err
    _, items, label_field = _struct(mat, path)
    entries = [(_text(e["ImgName"]), _text(e[label_field])) for e in items]

    def lexicons(field: str) -> Optional[List[List[str]]]:
        if field not in items.dtype.names:
            return None
        return [[_text(w) for w in np.asarray(e[field]).ravel()] for e in items]

    return entries, lexicons("smallLexi"), lexicons("mediumLexi")
