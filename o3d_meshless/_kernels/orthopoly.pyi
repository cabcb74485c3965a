import numpy as np
from numpy.typing import NDArray

def orthopoly_basis(
    y: NDArray[np.float64],
    s: NDArray[np.float64],
    exponents: NDArray[np.intp],
    rtol: float,
    Q: NDArray[np.float64],
    C: NDArray[np.float64],
    accepted: NDArray[np.intc],
) -> tuple[int, float]: ...

def orthopoly_stencils(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    bases: NDArray[np.float64],
    exponents: NDArray[np.intp],
    fact: NDArray[np.float64],
    degree: NDArray[np.intp],
    combos: NDArray[np.float64],
    target_degree: NDArray[np.intp],
    include_centre: int,
    order: int,
    weight_power: float,
    rtol: float,
    weights: NDArray[np.float64],
    centre_weights: NDArray[np.float64],
    diagnostics: NDArray[np.float64],
    rejected: NDArray[np.uint64],
    complete_order: NDArray[np.intc],
    status: NDArray[np.intc],
    n_threads: int,
) -> None: ...
