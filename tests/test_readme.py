"""The README's commands cannot rot: every flag they pass exists, every script they name is there, and the
cheap ones (help, dry runs) run as written."""
import os
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from typing import List

import pytest

from src.config import DEFAULT_CONFIG, _read_yaml
from tests.conftest import ROOT

CONFIG_SCRIPTS = ("train.py", "eval.py", "export.py")


def readme_commands() -> List[List[str]]:
    """Commands of the README's bash blocks (continuations joined, comments dropped), as argv lists."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                for part in line.split("&&"):
                    commands.append(shlex.split(part.strip()))
    return commands


def python_calls(commands):
    """(script or module, args) for every ``python ...`` in the commands (after mpirun/msrun wrappers too)."""
    calls = []
    for argv in commands:
        for i, token in enumerate(argv):
            if token.endswith("python") or (token.endswith(".py") and argv[0] == "msrun"):
                rest = argv[i + 1:] if token.endswith("python") else argv[i:]
                if rest[:1] == ["-m"] and len(rest) > 1 and rest[1] != "pytest":
                    calls.append((rest[1], rest[2:]))
                elif rest and rest[0].endswith(".py"):
                    calls.append((rest[0], rest[1:]))
                break
    return calls


@lru_cache(maxsize=None)
def help_text(script: str) -> str:
    cmd = [sys.executable, "-m", script, "--help"] if not script.endswith(".py") else [sys.executable, script, "--help"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"{script} --help failed: {res.stderr[-1000:]}"
    return res.stdout


def test_the_readme_has_commands_and_uses_the_venv_it_sets_up():
    commands = readme_commands()
    assert len(python_calls(commands)) > 30
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert "source .venv/bin/activate" in text.split("## Layout")[0]   # bare `python` after the quick start works


def test_every_flag_in_the_readme_exists():
    keys = set(_read_yaml(DEFAULT_CONFIG)) | {"config_path"}
    problems = []
    for script, args in python_calls(readme_commands()):
        flags = [a.split("=", 1)[0] for a in args if a.startswith("--")]
        if os.path.basename(script) in CONFIG_SCRIPTS:
            problems += [f"{script} {f}" for f in flags if f[2:] not in keys]
        else:
            if script.endswith(".py") and not os.path.isfile(os.path.join(ROOT, script)):
                problems.append(f"{script} does not exist")
                continue
            usage = help_text(script)
            problems += [f"{script} {f}" for f in flags if f not in usage]
    assert not problems, f"README commands with unknown scripts or flags: {problems}"


def launch_commands():
    return [argv for argv in readme_commands() if argv[:1] == ["bash"] and "run_distribute_train" in argv[1]]


@pytest.mark.parametrize("argv", launch_commands(), ids=lambda a: " ".join(a[1:4]))
def test_the_readmes_launch_commands_dry_run_without_data(argv):
    """Each distributed launch line of the README, as written plus the dry-run switch: no data needed."""
    if "msrun" in argv[1]:
        argv = argv[:2] + ["--dry_run"] + argv[2:]
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, DRY_RUN="1"))
    assert res.returncode == 0, res.stderr
    assert "train.py" in res.stdout and "--run_distribute=True" in res.stdout or "msrun" in res.stdout
