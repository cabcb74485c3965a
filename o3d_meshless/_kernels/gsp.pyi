import numpy as np
from numpy.typing import NDArray

def gsp_stencils(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    bases: NDArray[np.float64],
    ghosts: NDArray[np.float64],
    half_max: bool,
    kind: int,
    shape: float,
    pexpo: NDArray[np.intp],
    dexpo: NDArray[np.intp],
    dfact: NDArray[np.float64],
    ddeg: NDArray[np.intp],
    combos: NDArray[np.float64],
    constrained: bool,
    rcond: float,
    weights: NDArray[np.float64],
    centre_weights: NDArray[np.float64],
    diagnostics: NDArray[np.float64],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
