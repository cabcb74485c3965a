import numpy as np
from numpy.typing import NDArray

def moment_stencils(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    bases: NDArray[np.float64],
    grad_coef: NDArray[np.float64],
    lap_coef: NDArray[np.float64],
    rcond: float,
    weights: NDArray[np.float64],
    diagnostics: NDArray[np.float64],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
