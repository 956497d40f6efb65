"""Array types and the one input convention shared by the statistics modules."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def as_label_matrix(data: npt.ArrayLike) -> FloatArray:
    """Coders x units labels as a float array, NaN (or None) for missing; rejects other shapes."""
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"labels must be 2-D, coders x units; got {matrix.ndim} dimension(s)")
    if np.isinf(matrix).any():
        raise ValueError("labels contain an infinite value; use NaN for missing values")
    return matrix
