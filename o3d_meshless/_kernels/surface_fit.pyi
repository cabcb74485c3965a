import numpy as np
from numpy.typing import NDArray

def quadric_offsets(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    n_terms: int,
    offset: NDArray[np.float64],
    residual: NDArray[np.float64],
    radius: NDArray[np.float64],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
