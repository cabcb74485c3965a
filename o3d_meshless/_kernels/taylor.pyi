import numpy as np
from numpy.typing import NDArray

def taylor_stencils(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    bases: NDArray[np.float64],
    exponents: NDArray[np.intp],
    inv_fact: NDArray[np.float64],
    degree: NDArray[np.intp],
    combos: NDArray[np.float64],
    weight_power: float,
    rcond: float,
    want_bounds: bool,
    weights: NDArray[np.float64],
    diagnostics: NDArray[np.float64],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
