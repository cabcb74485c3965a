# pytest never collects the documentation sources: the default testpaths are tests/ and
# o3d_meshless/, and an explicit `pytest docs` (or `--doctest-modules docs`) would
# otherwise import conf.py and execute every gallery script. The site is checked by
# `python -m sphinx -W -b html docs docs/_build/html` and tests/test_docs.py.
collect_ignore_glob = ["*.py", "*/*.py", "*/*/*.py"]
