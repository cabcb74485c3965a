import numpy as np
from numpy.typing import NDArray

def tangent_voronoi_areas(
    points: NDArray[np.float64],
    neighbors: NDArray[np.intp],
    centers: NDArray[np.intp],
    frames: NDArray[np.float64],
    box: float,
    areas: NDArray[np.float64],
    is_open: NDArray[np.intc],
    dual_edges: NDArray[np.float64],
    cuts: NDArray[np.float64],
    n_threads: int,
    arc: bool,
) -> None: ...
