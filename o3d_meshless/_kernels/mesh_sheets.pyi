import numpy as np
from numpy.typing import NDArray

def near_along_mesh(
    points: NDArray[np.float64],
    adj_ptr: NDArray[np.intp],
    adj_idx: NDArray[np.intp],
    centers: NDArray[np.intp],
    candidates: NDArray[np.intp],
    rho: float,
    out: NDArray[np.uint8],
    n_threads: int,
) -> None: ...
