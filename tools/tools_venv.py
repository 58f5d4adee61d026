"""The git-ignored virtual environment that the comparison tools run in.

Why: the reference libraries (MABWiser, Vowpal Wabbit) are for comparisons only and must
never become dependencies of the engine, and a developer or CI machine may be fresh. So
each comparison script calls `reexec_in_venv()` first: it creates
`.deps/tools-venv` in the repository root with the pinned packages when that has not
been done yet, and then runs the script again with the same arguments under the
virtual environment's interpreter. Plain `python3 tools/SCRIPT.py ...` is all a caller
types.

The environment counts as ready once `pip install` has succeeded for exactly the
packages in REQUIREMENTS (recorded in a stamp file); a half-finished install, or a
changed pin, is installed again.
"""

import os
import subprocess
import sys
import venv

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_DIR = os.path.join(REPO_ROOT, ".deps", "tools-venv")
VENV_PYTHON = os.path.join(VENV_DIR, "bin", "python3")
STAMP = os.path.join(VENV_DIR, "installed-requirements.txt")
REQUIREMENTS = ("mabwiser==2.7.4", "vowpalwabbit==9.11.9", "numpy")


def ensure_venv():
    """Create the virtual environment and install REQUIREMENTS unless already done."""
    wanted = "\n".join(REQUIREMENTS) + "\n"
    try:
        with open(STAMP, encoding="utf-8") as stamp:
            if stamp.read() == wanted and os.path.exists(VENV_PYTHON):
                return
    except FileNotFoundError:
        pass
    print(f"setting up {VENV_DIR} ({', '.join(REQUIREMENTS)}) ...", file=sys.stderr)
    if not os.path.exists(VENV_PYTHON):
        venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    with open(STAMP, "w", encoding="utf-8") as stamp:
        stamp.write(wanted)


def reexec_in_venv():
    """Return at once inside the virtual environment; otherwise set it up and re-run there."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV_DIR):
        return
    ensure_venv()
    script = os.path.abspath(sys.argv[0])
    os.execv(VENV_PYTHON, [VENV_PYTHON, script, *sys.argv[1:]])
