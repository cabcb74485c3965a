import numpy as np
from numpy.typing import NDArray

def tangent_gaps(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    axes: NDArray[np.float64],
    gap: NDArray[np.float64],
    bisector: NDArray[np.float64],
    n_threads: int,
) -> None: ...
