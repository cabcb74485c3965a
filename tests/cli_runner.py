"""Running the command line in-process, for the CLI tests (one helper, not one per file)."""
from o3d_meshless.cli import main


def run(argv, capsys):
    """``main(argv)`` (items made strings); returns ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
