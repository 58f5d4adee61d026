"""What the scripts that compare Arbiter with reference libraries share.

Why: the reference libraries (MABWiser, Vowpal Wabbit) are for comparisons only and must
never become dependencies of the engine, and a developer or CI machine may be fresh. So
each comparison script calls `reexec_in_venv()` before it imports them: it creates a
git-ignored virtual environment under `.deps/` (`tools-venv` by default) with the pinned
packages when that has not been done yet, and runs the script again, with the same
arguments, under that environment's interpreter. Plain `python3 tools/SCRIPT.py ...` is
all a caller types. An environment counts as ready once `pip install` has succeeded for
exactly its requirements (recorded in a stamp file); a half-finished install, or a
changed pin, is installed again. Libraries whose pins conflict (obp 0.4.0 needs pandas
below 3; MABWiser takes the newest) get environments of their own.

`run_arbiter_bench()` runs one `arbiter-bench` subcommand and reads the one JSON line it
prints, stopping the script with a message that says what is wrong when the binary is
missing, fails, or answers in another shape.
"""

import json
import os
import subprocess
import sys
import time
import venv

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = ("mabwiser==2.7.4", "vowpalwabbit==9.11.9", "numpy")
BUILD_HINT = "swift build -c release --product arbiter-bench; the binary is in $(swift build -c release --show-bin-path)"
SETUP_ERROR = 2  # exit status when the comparison could not be run at all


def ensure_venv(directory, requirements):
    """Create the virtual environment and install `requirements` unless already done."""
    python = os.path.join(directory, "bin", "python3")
    stamp_path = os.path.join(directory, "installed-requirements.txt")
    wanted = "\n".join(requirements) + "\n"
    try:
        with open(stamp_path, encoding="utf-8") as stamp:
            if stamp.read() == wanted and os.path.exists(python):
                return python
    except FileNotFoundError:
        pass
    print(f"setting up {directory} ({', '.join(requirements)}) ...", file=sys.stderr)
    if not os.path.exists(python):
        venv.EnvBuilder(with_pip=True).create(directory)
    subprocess.run([python, "-m", "pip", "install", "--quiet", *requirements], check=True)
    with open(stamp_path, "w", encoding="utf-8") as stamp:
        stamp.write(wanted)
    return python


def reexec_in_venv(name="tools-venv", requirements=REQUIREMENTS):
    """Return at once inside `.deps/NAME`; otherwise set it up and re-run the script there."""
    directory = os.path.join(REPO_ROOT, ".deps", name)
    if os.path.realpath(sys.prefix) == os.path.realpath(directory):
        return
    python = ensure_venv(directory, requirements)
    script = os.path.abspath(sys.argv[0])
    os.execv(python, [python, script, *sys.argv[1:]])


def fail(message):
    """Stop the script: the comparison could not be made (not a failed comparison)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(SETUP_ERROR)


def check_bench(bench):
    """Stop unless `bench` names an executable file."""
    if not (os.path.isfile(bench) and os.access(bench, os.X_OK)):
        fail(f"--bench {bench}: no executable arbiter-bench there (build it: {BUILD_HINT})")


def run_arbiter_bench(bench, arguments, required):
    """Run `bench ARGUMENTS...`; return (the JSON object it printed, wall seconds).

    The object is the last non-empty line of standard output and must hold every key in
    `required`; standard error passes through to ours.
    """
    command = [bench, *arguments]
    shown = " ".join(command)
    started = time.perf_counter()
    try:
        finished = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    except OSError as error:
        fail(f"could not run `{shown}`: {error}")
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        fail(f"`{shown}` exited with status {finished.returncode}: does this arbiter-bench "
             f"have the `{arguments[0]}` subcommand with these options? (rebuild: {BUILD_HINT})")
    lines = [line for line in finished.stdout.splitlines() if line.strip()]
    try:
        answer = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        answer = None
    if not isinstance(answer, dict) or not all(key in answer for key in required):
        fail(f"`{shown}` should print one JSON object with {', '.join(required)}; "
             f"it printed: {finished.stdout.strip()[-500:]!r}")
    return answer, seconds
