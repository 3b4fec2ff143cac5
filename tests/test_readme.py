"""The README's commands cannot rot: every flag they pass exists, every script they name is there, and the
cheap ones (help, dry runs) run as written."""
import importlib.util
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


@pytest.mark.system
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


@pytest.mark.system
@pytest.mark.parametrize("argv", launch_commands(), ids=lambda a: " ".join(a[1:4]))
def test_the_readmes_launch_commands_dry_run_without_data(argv):
    """Each distributed launch line of the README, as written plus the dry-run switch: no data needed."""
    if "msrun" in argv[1]:
        argv = argv[:2] + ["--dry_run"] + argv[2:]
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, DRY_RUN="1"))
    assert res.returncode == 0, res.stderr
    assert "train.py" in res.stdout and "--run_distribute=True" in res.stdout or "msrun" in res.stdout


def own_data_commands() -> List[List[str]]:
    """The bash block of the README's "Your own data" section, as argv lists."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("### Your own data", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [line.split(" #", 1)[0].strip() for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


@pytest.mark.system
def test_the_readmes_own_data_commands_run_as_written(tmp_path):
    """check -> alphabet -> fine-tune from the shipped model -> evaluate -> export -> infer, on a folder of
    mixed-case crops with characters the shipped model has never seen; only the run length is shortened."""
    import cv2
    from tests.conftest import word_image

    crops = tmp_path / "my_crops"
    (crops / "new").mkdir(parents=True)
    words = ["Exit", "B-52", "Hotel", "park", "ZONE", "Cafe", "rue-9", "Taxi", "open", "Bank", "A4", "Tram"]
    lines = []
    for i, word in enumerate(words):
        cv2.imwrite(str(crops / f"{i}.png"), word_image(word, seed=i))
        lines.append(f"{i}.png\t{word}")
    (crops / "labels.tsv").write_text("\n".join(lines + ["missing.png\tGone"]) + "\n")
    labels = words + ["Gone"]
    (crops / "test.tsv").write_text("\n".join(lines[:4]) + "\n")
    for i in range(3):
        cv2.imwrite(str(crops / "new" / f"n{i}.png"), word_image(words[i], seed=40 + i))
    os.symlink(os.path.join(ROOT, "checkpoints"), tmp_path / "checkpoints")
    short = {"train.py": ["--epoch_size=1", "--batch_size=4"]}
    commands = own_data_commands()
    assert [c[1] if c[1] != "-m" else c[2] for c in commands] == ["src.data.check", "src.data.check", "train.py",
                                                                   "eval.py", "export.py", "infer.py"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    for argv in commands:
        assert argv[0] == "python"
        script = argv[1]
        argv = [sys.executable] + ([os.path.join(ROOT, script)] if script.endswith(".py") else argv[1:3]) + \
            argv[2 if script.endswith(".py") else 3:] + short.get(script, [])
        res = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, f"{script}: {res.stdout[-2000:]}{res.stderr[-2000:]}"
        if argv[1:3] == ["-m", "src.data.check"]:
            with_alphabet = any(a.startswith("--alphabet_file") for a in argv)
            # the default alphabet: capitals and '-' are stripped as training strips them, ZONE becomes empty
            assert f"samples: 13, usable: {12 if with_alphabet else 11} " in res.stdout, res.stdout
            assert "1  image file missing" in res.stdout
            assert ("labels lose their characters" in res.stdout) != with_alphabet
        if script == "train.py":
            new = sorted(set("".join(labels)) - set("0123456789abcdefghijklmnopqrstuvwxyz"))
            twins = sum(c.isalpha() for c in new)          # every new capital has its lower-case twin
            assert f"head: kept {len(set(''.join(labels))) - len(new) + 1} of" in res.stdout, res.stdout
            assert f"({twins} from their other-case twin)" in res.stdout and "best.ckpt" in res.stdout, res.stdout[:6000]
        if script == "eval.py":
            assert "total=4" in res.stdout
        if script == "infer.py":
            assert res.stdout.count("n0.png") == 1
    alphabet = (tmp_path / "my_alphabet.txt").read_text().split("\n")[:-1]
    assert alphabet == sorted(set("".join(labels)))     # the missing image's label counts: its image is the problem



def test_ci_runs_exactly_the_readmes_test_command():
    """`.ci/run` is the README's quick-start test command, and the plugin its ``-n``/``--dist`` need is installed."""
    ci = [line.strip() for line in open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8")
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    quick_start = [c for c in readme_commands() if c[-1:] == ["tests"] and "pytest" in c]
    assert len(ci) == 1 and len(quick_start) == 1, (ci, quick_start)
    assert [shlex.split(part.strip()) for part in ci[0].split("&&")][-1] == quick_start[0]
    if "-n" in quick_start[0]:
        assert importlib.util.find_spec("xdist"), "the test command uses pytest-xdist: add it to requirements.txt"
