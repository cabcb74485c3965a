import numpy as np
from numpy.typing import NDArray

def pca_height_frames(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    exponents: NDArray[np.intp],
    inv_fact: NDArray[np.float64],
    degree: NDArray[np.intp],
    frames: NDArray[np.float64],
    planarity: NDArray[np.float64],
    flatness: NDArray[np.float64],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
