"""``python -m o3d_meshless`` runs the ``o3d-meshless`` command line."""
from .cli import main

raise SystemExit(main())
