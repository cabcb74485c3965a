"""The argument parser of ``o3d-meshless``: option types and one sub-parser per command."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..stencils import DEFAULT_METHOD, METHODS
from ..operators.weak import MASS_KINDS
from .commands import _cmd_gradient, _cmd_info, _cmd_laplacian, _cmd_spectrum
from .geometry_commands import _cmd_curvature, _cmd_geodesic, _cmd_hks, _cmd_smooth
from .vector_commands import add_vector_commands
from .run import PROG

_EPILOG = """examples:
  o3d-meshless spectrum                                # shipped bunny, 20 modes
  o3d-meshless spectrum scan.ply --modes 30 --png modes.png --out modes.npz
  o3d-meshless gradient scan.ply --field "sin(3*x)" --png grad.png
  o3d-meshless laplacian scan.ply --out L.npz
  o3d-meshless info scan.ply
  o3d-meshless geodesic scan.ply --source 0,500 --png dist.png
  o3d-meshless curvature mesh.obj --ply curv.ply
  o3d-meshless hks mesh.obj --modes 100 --out hks.npz
  o3d-meshless smooth scan.ply --ply smoothed.ply
  o3d-meshless curvature 'scans/*.ply' --out-dir results --ply --json
                        # results/<stem>.curvature.npz and .ply, one JSON line per scan
"""


def _int_list(text):
    try:
        values = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers like 1,2,3; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("must name at least one mode")
    return values


def _float_list(text):
    try:
        vals = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be numbers separated by commas; got {text!r}") \
            from None
    if not vals or not all(v > 0 and np.isfinite(v) for v in vals):
        raise argparse.ArgumentTypeError(f"must be positive numbers; got {text!r}")
    return vals


def _view(text):
    try:
        elev, azim = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be ELEV,AZIM in degrees like 15,-60; got {text!r}") from None
    return elev, azim


def _up(text):
    """``--up``: 'auto', a signed axis or a vector X,Y,Z (normalised)."""
    from ..plot.view import _check_up

    try:
        return _check_up(text, allow_auto=True)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be auto, x, y, z, -x, -y, -z or a nonzero vector X,Y,Z such as 0,1,0.3 "
            f"or -0.2,1,0; got {text!r}") from None


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int (-1 = all cores); got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive int or negative (-1 = all cores); got 0")
    return value


def _ghosts(text):
    if text in ("circle", "disc"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'circle', 'disc' or a number of ghosts; got {text!r}") from None


_NAMES_HELP = "; without a name: {stem}.%s%s"


def _output(p, flag, metavar, text):
    """An output flag: a file name, or the default ``{stem}.{command}.<suffix>``."""
    from .outputs import OUTPUT_FLAGS, default_name

    p.add_argument(f"--{flag}", type=Path, nargs="?", const=default_name(flag),
                   metavar=metavar,
                   help=text + _NAMES_HELP % (p.prog.split()[-1], OUTPUT_FLAGS[flag]))


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of the ``o3d-meshless`` command."""
    from .. import __version__

    # -v/-q work before and after the subcommand; SUPPRESS keeps the subparser from
    # overwriting a value given before it.
    verbosity = argparse.ArgumentParser(add_help=False)
    grp = verbosity.add_argument_group("output")
    grp.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                     help="log details to stderr, with the timing of every step and stage "
                          "(-vv: debug); "
                          "show tracebacks on errors")
    grp.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                     help="print results only: no notes, no warnings (except the one about "
                          "negative eigenvalues), no progress bars")

    inp = argparse.ArgumentParser(add_help=False)
    inp.add_argument("inputs", metavar="INPUT", nargs="*", default=[],
                     help="point clouds or meshes: .ply .pcd .xyz .xyzn .pts .obj .off .npy "
                          "(several, or a quoted glob such as 'scans/*.ply', run one after "
                          "the other; default: the shipped bunny sample)")
    g = inp.add_argument_group("batches and scripts")
    g.add_argument("--out-dir", type=Path, default=None, metavar="DIR",
                   help="write outputs into DIR (created when missing): --out/--ply/--png "
                        "names are placed there; without --out, DIR/{stem}.{command}.npz "
                        "is written. Output names may hold {stem} (the input's name "
                        "without suffix) and {command}")
    g.add_argument("--force", action="store_true",
                   help="replace outputs that exist already (without it an existing "
                        "output stops the run before any work)")
    g.add_argument("--json", action="store_true",
                   help="print the results as JSON instead of text: one object per input, "
                        "each on one line, with the keys of its schema "
                        "(\"schema\": \"o3d-meshless/<command>/1\"); warnings are in its "
                        "\"warnings\" list and on stderr")

    op = argparse.ArgumentParser(add_help=False)
    g = op.add_argument_group("operator")
    g.add_argument("--k", "-k", type=int, default=16, metavar="K",
                   help="neighbours per point (default: %(default)s)")
    g.add_argument("--workers", type=_workers, default=-1, metavar="W",
                   help="threads, SciPy's meaning: -1 all cores (default: %(default)s)")
    g.add_argument("--method", choices=tuple(METHODS), default=None,
                   help="stencil method: " + ", ".join(f"{s.name} = {s.title}"
                                                       for s in METHODS.values())
                        + f" (default: {DEFAULT_METHOD}; strong form only)")
    g.add_argument("--rbf", choices=("gaussian", "multiquadric", "inverse-multiquadric",
                                      "inverse-quadratic"), default=None,
                   help="clsgsp/lsgsp: radial kernel (default: gaussian)")
    g.add_argument("--shape", type=float, default=None, metavar="C",
                   help="clsgsp/lsgsp: scale-free shape parameter c*rbar^2 (default: 3, "
                        "0.1 with --ghosts disc)")
    g.add_argument("--ghosts", type=_ghosts, default=None, metavar="LAYOUT",
                   help="clsgsp/lsgsp: 'circle' (8 ghosts on the circle of radius the mean "
                        "neighbour distance, default), 'disc' (49 in a disc) or a count")
    g.add_argument("--orient", choices=("auto", "none", "outward", "mst"), default="auto",
                   help="normal orientation; 'auto' = 'mst' when pictures/files are "
                        "written, else none (default: %(default)s)")

    pic = argparse.ArgumentParser(add_help=False)
    g = pic.add_argument_group("picture (--png)")
    g.add_argument("--up", type=_up, default=None, metavar="{auto,x,y,z,-x,-y,-z,X,Y,Z}",
                   help="direction drawn vertically: a signed axis, or any vector X,Y,Z "
                        "such as 0,1,0.3 or -0.2,1,0 "
                        "(default: chosen from the shape, the side it stands on down)")
    g.add_argument("--view", type=_view, default=None, metavar="ELEV,AZIM",
                   help="camera elevation and azimuth in degrees (default: chosen from the "
                        "shape, its broad side from 20 degrees up)")
    g.add_argument("--dpi", type=int, default=120, help="PNG resolution (default: %(default)s)")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Meshless surface calculus on point clouds: Laplace-Beltrami spectra, "
                    "surface gradients and operator matrices, for any file Open3D or "
                    "trimesh reads.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=argparse.SUPPRESS)
    parser.add_argument("-q", "--quiet", action="store_true", default=False,
                        help=argparse.SUPPRESS)
    sub = parser.add_subparsers(
        dest="command",
        metavar="{spectrum,gradient,laplacian,info,geodesic,curvature,hks,smooth,logmap,"
                "transport}")
    sub.required = True

    p = sub.add_parser("spectrum", parents=[inp, op, pic, verbosity],
                       help="Laplace-Beltrami eigenvalues and eigenmodes",
                       description="Compute the smallest Laplace-Beltrami eigenpairs "
                                   "(K v = lambda M v with the symmetric weak form, or "
                                   "L v = lambda v with the strong form; eigenvalues >= 0, "
                                   "V^T M V = I) and print the eigenvalues.")
    p.add_argument("--modes", type=int, default=20, metavar="N",
                   help="number of eigenpairs (default: %(default)s)")
    p.add_argument("--form", choices=("weak", "strong"), default=None,
                   help="weak = symmetric positive semi-definite Voronoi stiffness (real "
                        "spectrum, orthonormal modes, the more accurate eigenvalues); strong = "
                        "pointwise stencils (default: weak, or strong when --method, --order "
                        "or another stencil flag is given)")
    _order_and_mass(p)
    _output(p, "png", "FILE", "draw eigenmodes into FILE")
    p.add_argument("--show-modes", type=_int_list, default=None, metavar="I,J,...",
                   help="modes drawn by --png (default: 1,2,3,4,5,6)")
    _output(p, "out", "FILE.npz",
            "save eigenvalues, eigenvectors, points, normals, the matrices (strong form: "
            "L and the lumped areas M; weak form: the stiffness K, the cell areas M and, "
            "with the averaged mass, the pencil's mass matrix 'mass', in which the "
            "eigenvectors are orthonormal), form, k and the quality report "
            "(spectrum_n_negative, spectrum_min_real, spectrum_max_imag, "
            "spectrum_orthogonality_defect). Sparse matrices are stored as CSR parts: "
            "read the file with o3d_meshless.load_npz")
    _output(p, "ply", "FILE.ply",
            "save points, normals and one lb_mode_<i> column per mode, coloured by the "
            "first drawn mode (an input's own colours, faces and columns are kept)")
    p.set_defaults(func=_cmd_spectrum, default_form="weak")

    p = sub.add_parser("gradient", parents=[inp, op, pic, verbosity],
                       help="surface gradient of a scalar field",
                       description="Tangential (surface) gradient of a per-point scalar "
                                   "field; prints min/mean/max of |grad f|.")
    p.add_argument("--field", default="z", metavar="F",
                   help="x, y or z (a coordinate function), the name of a per-point column "
                        "of INPUT (e.g. lb_mode_1 from 'spectrum --ply'), a .npy file with "
                        "one value per point, or an expression in x, y, z and r = |p| such "
                        "as 'sin(3*x) + y**2' (default: %(default)s)")
    p.add_argument("--order", type=int, default=2, help="stencil order (default: %(default)s; "
                   "3 is more accurate on exact, noise-free points)")
    _output(p, "png", "FILE", "draw f and |grad f| into FILE")
    _output(p, "out", "FILE.npz", "save points, normals, field, field_name, gradient (n, 3), "
            "grad_norm and the operator G (3n x n); read it with o3d_meshless.load_npz")
    _output(p, "ply", "FILE.ply", "save points with columns field, grad_0..2, grad_norm "
            "(and failed_row where stencils failed)")
    p.set_defaults(func=_cmd_gradient)

    p = sub.add_parser("laplacian", parents=[inp, op, pic, verbosity],
                       help="Laplace-Beltrami matrix L and lumped areas M",
                       description="Build the Laplace-Beltrami matrix L (~ -Delta, strong "
                                   "form, CSR) and the diagonal lumped-area matrix M; print "
                                   "their size, area and diagnostics. --form weak builds "
                                   "the symmetric stiffness K ~ M(-Delta) instead.")
    p.add_argument("--form", choices=("strong", "weak"), default=None,
                   help="strong = pointwise L ~ -Delta; weak = symmetric positive "
                        "semi-definite stiffness K ~ M(-Delta), saved as K (default: strong)")
    _order_and_mass(p)
    p.add_argument("--field", default=None, metavar="F",
                   help="also apply L to this field (same forms as for gradient)")
    _output(p, "out", "FILE.npz", "save L (strong form) or K and mass (weak form), M, "
            "points, normals (and field, Lf with --field); read it with "
            "o3d_meshless.load_npz")
    _output(p, "png", "FILE", "draw f and L f (with --field), else lumped area and condition")
    _output(p, "ply", "FILE.ply", "save points with columns area (and field, Lf)")
    p.set_defaults(func=_cmd_laplacian, default_form="strong")

    p = sub.add_parser("info", parents=[inp, verbosity],
                       help="quick facts about a point file (no operator)",
                       description="Number of points, bounding box, spacing, normals, "
                                   "duplicates.")
    _output(p, "out", "FILE.npz", "save points, normals, faces, colours and the facts "
            "(bbox_min, bbox_max, spacing, duplicates)")
    p.set_defaults(func=_cmd_info)
    _add_geometry_commands(sub, parents=[inp, pic, verbosity])
    add_vector_commands(sub, parents=[inp, pic, verbosity], source_option=_source_option,
                        neighbourhood_options=_neighbourhood_options, outputs=_outputs)
    for p in sub.choices.values():     # the CLI flag of each option, for error messages
        p.set_defaults(flag_names={a.dest: max(a.option_strings, key=len)
                                   for a in p._actions if a.option_strings})
    return parser


def _order_and_mass(p):
    """--order (strong form) and --mass (weak form): the options of spectrum and laplacian
    that belong to one form."""
    p.add_argument("--order", type=int, default=None,
                   help="stencil order, strong form only (default: 2)")
    p.add_argument("--mass", choices=MASS_KINDS, default=None,
                   help="weak form only: averaged (default) = mean of lumped and consistent "
                        "mass, cells at arc length: 2-6x more accurate eigenvalues; lumped = "
                        "diagonal cell areas")


def _neighbourhood_options(p, k, k_help):
    g = p.add_argument_group("neighbourhoods")
    g.add_argument("--k", "-k", type=int, default=k, metavar="K", help=k_help)
    g.add_argument("--workers", type=_workers, default=-1, metavar="W",
                   help="threads, SciPy's meaning: -1 all cores (default: %(default)s)")
    g.add_argument("--orient", choices=("auto", "none", "outward", "mst"), default="auto",
                   help="normal orientation; 'auto' = 'mst' when pictures/files are "
                        "written, else none (default: %(default)s)")


def _outputs(p, what_out, what_ply, what_png):
    _output(p, "out", "FILE.npz", f"save {what_out}")
    _output(p, "ply", "FILE.ply", f"save {what_ply}")
    _output(p, "png", "FILE", f"draw {what_png} into FILE")


def _source_option(p, *, many=True):
    """``--source``: the source point indices (``many``) or index, default point 0."""
    p.add_argument("--source", type=_int_list, default=[0], metavar="I,J,..." if many else "I",
                   help="source point indices (default: 0)" if many
                   else "the source point index (default: 0)")


def _add_geometry_commands(sub, parents):
    """The geometry toolkit: geodesic distance, curvature, heat kernel signature, smoothing."""
    p = sub.add_parser("geodesic", parents=parents, help="geodesic distance (heat method)",
                       description="Geodesic distance from one or more source points by the "
                                   "heat method (Crane et al.) on the symmetric weak form; "
                                   "points of pieces with no source are unreachable.")
    _source_option(p)
    p.add_argument("--t", type=float, default=None, metavar="T",
                   help="diffusion time (default: 2 h^2, h = mean point spacing)")
    p.add_argument("--boundary", choices=("average", "neumann"), default="average",
                   help="heat step at open boundaries: mean of Neumann and Dirichlet "
                        "solutions, or Neumann only (default: %(default)s)")
    _neighbourhood_options(p, 16, "neighbours per point (default: %(default)s)")
    _outputs(p, "points, normals, distance (NaN = unreachable), sources, t",
             "points with column geodesic_distance (NaN = unreachable: a piece without a "
             "source)", "the distance")
    p.set_defaults(func=_cmd_geodesic)

    p = sub.add_parser("curvature", parents=parents, help="mean, Gaussian, principal curvature",
                       description="Mean, Gaussian and principal curvatures and directions "
                                   "from local height fits in the tangent frames. On noisy "
                                   "scans raise --k (50-200) or run 'smooth' first.")
    p.add_argument("--order", type=int, default=3, choices=(2, 3, 4),
                   help="height-fit order (default: %(default)s; 4 for exact points)")
    _neighbourhood_options(p, None, "neighbours per fit (default: 16, 20, 24 for order "
                                    "2, 3, 4)")
    _outputs(p, "points, normals, mean/gaussian_curvature, k1, k2, dir1, dir2, residual",
             "points with those columns", "H and K (clipped to their 2-98th percentiles)")
    p.set_defaults(func=_cmd_curvature)

    p = sub.add_parser("hks", parents=parents, help="heat kernel signature",
                       description="Heat kernel signature sum_i exp(-lambda_i t) v_i^2 from "
                                   "the weak-form spectrum (M-orthonormal modes).")
    p.add_argument("--modes", type=int, default=100, metavar="N",
                   help="eigenpairs used (default: %(default)s)")
    p.add_argument("--times", type=_float_list, default=None, metavar="T1,T2,...",
                   help="diffusion times (default: --n-times log-spaced from 4 ln10 / "
                        "lambda_max to 4 ln10 / lambda_1)")
    p.add_argument("--n-times", type=int, default=10, metavar="T",
                   help="number of default times (default: %(default)s)")
    _neighbourhood_options(p, 16, "neighbours per point (default: %(default)s)")
    _outputs(p, "points, hks (n, T), hks_times, hks_columns, eigenvalues",
             "points with one column hks_t<time> per time (e.g. hks_t0.01; 4 significant "
             "digits)", "log HKS at the first, middle and last time")
    p.set_defaults(func=_cmd_hks)

    p = sub.add_parser("smooth", parents=parents, help="denoise points or smooth a field",
                       description="Move the points along their normals onto local "
                                   "least-squares fits (denoising), or with --field smooth "
                                   "that field on the surface.")
    p.add_argument("--iterations", type=int, default=3, metavar="N",
                   help="iterations (default: %(default)s)")
    p.add_argument("--field", default=None, metavar="F",
                   help="smooth this field instead of the points (same forms as for gradient)")
    p.add_argument("--how", choices=("laplacian", "taubin"), default="taubin",
                   help="field smoothing (default: %(default)s)")
    _neighbourhood_options(p, 80, "neighbours per fit (default: %(default)s)")
    _outputs(p, "the (moved) points and displacement, or field, smoothed and field_name",
             "the (moved) points with the column displacement, or <name> and "
             "<name>_smoothed (<name>: the column --field names, a .npy file's stem, "
             "else 'field'); the input's normals, colours, faces and columns are kept",
             "the displacement or the fields")
    p.set_defaults(func=_cmd_smooth)
