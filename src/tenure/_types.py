"""The vocabulary of types shared across Tenure."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
MemberId: TypeAlias = str
Alternative: TypeAlias = Literal["two-sided", "greater", "less"]
