import numpy as np
from numpy.typing import NDArray

def other_sheet(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    scale_k: int,
    gap_factor: float,
    spread_factor: float,
    min_own: int,
    out: NDArray[np.uint8],
    n_threads: int,
) -> None: ...
