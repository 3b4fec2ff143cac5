"""What only a GPU run would execute, checked without a GPU: the device each launcher's variables
select, the launch scripts' exact command lines, loss scaling and mixed precision through the
training step, and the LSTM weight layout of an exported model."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from src.errors import SetupError
from src.train.distributed import DeviceChoice, choose_device, comm_timeout_note
from tests.conftest import ROOT

# ------------------------------------------------------------------ launcher environment -> device

#: what OpenMPI 4 exports to global rank 11 of 16 on its second machine (8 per machine)
OPENMPI_RANK_11 = {"OMPI_COMM_WORLD_SIZE": "16", "OMPI_COMM_WORLD_RANK": "11", "OMPI_COMM_WORLD_LOCAL_RANK": "3",
                   "OMPI_COMM_WORLD_LOCAL_SIZE": "8", "OMPI_COMMAND": "python", "PMIX_RANK": "11"}
#: what msrun (MindSpore 2.8, parallel/cluster/process_entity/_api.py) exports to its worker 5 of 8
MSRUN_WORKER_5 = {"MS_WORKER_NUM": "8", "MS_SCHED_HOST": "127.0.0.1", "MS_SCHED_PORT": "8118",
                  "MS_TOPO_TIMEOUT": "600", "MS_ROLE": "MS_WORKER", "MS_NODE_ID": "5", "DEVICE_ID": "5",
                  "RANK_ID": "5", "RANK_SIZE": "8"}


@pytest.mark.parametrize("env, target, expected", [
    ({}, "GPU", 2),                                                   # plain run: --device_id
    (OPENMPI_RANK_11, "GPU", 3),                                      # mpirun: the local rank, not the global one
    (MSRUN_WORKER_5, "GPU", None),                                    # msrun: MindSpore negotiates
    ({"LOCAL_RANK": "6", "RANK": "14", "WORLD_SIZE": "16"}, "GPU", 6),  # torchrun style
    ({"SLURM_LOCALID": "1", "SLURM_PROCID": "9", "RANK_SIZE": "16"}, "GPU", 1),
    ({"MPI_LOCALRANKID": "4", "PMI_RANK": "4", "RANK_SIZE": "8"}, "GPU", 4),   # MPICH / Intel MPI
    (dict(OPENMPI_RANK_11, CUDA_VISIBLE_DEVICES="3"), "GPU", 0),      # one GPU per rank (SLURM --gpus-per-task=1)
    (dict(OPENMPI_RANK_11, CUDA_VISIBLE_DEVICES="0,1,2,3,4,5,6,7"), "GPU", 3),
    ({"RANK_SIZE": "8"}, "GPU", 2),                                   # a launcher without a local rank: --device_id
])
def test_device_from_each_launchers_variables(env, target, expected):
    distributed = bool(env)
    choice = choose_device(env, target, 2, distributed)
    assert isinstance(choice, DeviceChoice) and choice.device_id == expected, choice
    assert choice.reason


def test_msrun_choice_reports_msruns_device_id_and_a_rank_beyond_the_visible_gpus_is_an_error():
    assert "DEVICE_ID=5" in choose_device(MSRUN_WORKER_5, "GPU", 0, True).reason
    with pytest.raises(SetupError, match=r"local rank 3 .*CUDA_VISIBLE_DEVICES lists 2 GPUs"):
        choose_device(dict(OPENMPI_RANK_11, CUDA_VISIBLE_DEVICES="0,1"), "GPU", 0, True)
    # CUDA_VISIBLE_DEVICES says nothing about CPU ranks
    assert choose_device(dict(OPENMPI_RANK_11, CUDA_VISIBLE_DEVICES="0"), "CPU", 0, True).device_id == 3


def launcher_env(tmp_path):
    """The environment each worker really gets from msrun and from mpirun (2 workers, a dumping script)."""
    script = tmp_path / "dump.py"
    script.write_text("import json, os, sys\n"
                      "if os.environ.get('MS_ROLE') != 'MS_SCHED':\n"
                      "    name = os.environ.get('OMPI_COMM_WORLD_RANK') or os.environ['RANK_ID']\n"
                      "    json.dump(dict(os.environ), open(f'{sys.argv[1]}_{name}.json', 'w'))\n")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    from tests.test_distributed import free_port
    subprocess.run(["msrun", "--worker_num=2", "--local_worker_num=2", f"--master_port={free_port()}",
                    "--cluster_time_out=30", "--log_dir=log", "--join=True", str(script), "msrun"],
                   cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", "2", sys.executable, str(script),
                    "mpirun"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    return {f"{launcher}_{rank}": json.loads((tmp_path / f"{launcher}_{rank}.json").read_text())
            for launcher in ("msrun", "mpirun") for rank in (0, 1)}


@pytest.mark.system
@pytest.mark.skipif(shutil.which("mpirun") is None, reason="OpenMPI not installed (apt-get install openmpi-bin)")
def test_device_choice_from_the_real_launchers_environments(tmp_path):
    envs = launcher_env(tmp_path)
    for rank in (0, 1):
        msrun = envs[f"msrun_{rank}"]
        assert msrun["DEVICE_ID"] == str(rank) and "MS_LOCAL_RANK_ID" not in msrun and "LOCAL_RANK" not in msrun
        assert choose_device(msrun, "GPU", 0, True) == DeviceChoice(None, f"chosen by MindSpore under msrun "
                                                                          f"(DEVICE_ID={rank})")
        assert choose_device(envs[f"mpirun_{rank}"], "GPU", 0, True).device_id == rank
    note = comm_timeout_note(envs["msrun_0"], "GPU", 120)
    assert note[0] is None and "msrun --cluster_time_out" in note[1] and "does not apply" in note[1]


def test_comm_timeout_goes_where_each_launcher_reads_it():
    assert comm_timeout_note(MSRUN_WORKER_5, "GPU", 600) == (None, "cluster time-out 600 s (msrun --cluster_time_out)")
    assert comm_timeout_note(OPENMPI_RANK_11, "CPU", 90) == ("90", "cluster time-out 90 s (--comm_timeout)")
    value, note = comm_timeout_note(OPENMPI_RANK_11, "GPU", 90)
    assert value is None and "does not apply to GPU under mpirun" in note


# ------------------------------------------------------------------ the launch scripts (dry runs)

def script(*args, **env_extra):
    env = dict(os.environ, PYTHON_BIN=sys.executable, **env_extra)
    return subprocess.run(["bash", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.system
@pytest.mark.skipif(shutil.which("mpirun") is None, reason="OpenMPI not installed (apt-get install openmpi-bin)")
def test_mpirun_script_forwards_nccl_cuda_glog_and_project_variables_to_every_host(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node0 slots=8\nnode1 slots=8\n")
    res = script("scripts/run_distribute_train_gpu.sh", "16", "synth", "/data/Syn90k", "--batch_size=128",
                 DRY_RUN="1", HOSTFILE=str(hostfile), NCCL_SOCKET_IFNAME="eth1", NCCL_IB_DISABLE="1",
                 CUDA_VISIBLE_DEVICES="0,1,2,3,4,5,6,7", GLOG_v="2", CRNN_FAIL_AT="", OMP_NUM_THREADS="4")
    assert res.returncode == 0, res.stderr
    cmd = res.stdout.split()
    assert cmd[:4] == ["mpirun", "--allow-run-as-root", "-n", "16"]
    forwarded = {cmd[i + 1] for i, a in enumerate(cmd) if a == "-x"}
    assert {"NCCL_SOCKET_IFNAME", "NCCL_IB_DISABLE", "CUDA_VISIBLE_DEVICES", "GLOG_v", "CRNN_FAIL_AT",
            "OMP_NUM_THREADS", "PATH"} <= forwarded
    assert cmd[cmd.index("--hostfile") + 1] == str(hostfile)
    assert cmd[-5:] == ["--train_dataset=synth", "--train_dataset_path=/data/Syn90k", "--device_target=GPU",
                        "--run_distribute=True", "--batch_size=128"]


def msrun_command(*options, train_flags=()):
    res = script("scripts/run_distribute_train_msrun.sh", *options, "--dry_run", "--", "synth", "/data/Syn90k",
                 *train_flags)
    return res, dict(a.split("=", 1) for a in res.stdout.split() if a.startswith("--"))


@pytest.mark.system
def test_msrun_script_one_machine_and_two_machines():
    res, flags = msrun_command("--worker_num=8", "--local_worker_num=8")           # 1 x 8 GPUs
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("msrun ")
    assert (flags["--worker_num"], flags["--local_worker_num"], flags["--node_rank"]) == ("8", "8", "0")
    assert flags["--cluster_time_out"] == "600" and flags["--device_target"] == "GPU"

    res, _ = msrun_command("--worker_num=16", "--local_worker_num=8", "--master_addr=10.0.0.1")
    assert res.returncode != 0 and "give --node_rank=0 on the master" in res.stderr

    res, flags = msrun_command("--worker_num=16", "--local_worker_num=8", "--master_addr=10.0.0.1", "--node_rank=1",
                               train_flags=["--comm_timeout=120"])                  # 2 x 8 GPUs, second machine
    assert res.returncode == 0, res.stderr
    assert (flags["--node_rank"], flags["--master_addr"], flags["--cluster_time_out"]) == ("1", "10.0.0.1", "120")
    assert flags["--comm_timeout"] == "120"                                         # also reaches train.py


# ------------------------------------------------------------------ loss scaling through TrainStep

def tiny_train_step(loss_scale: float, dynamic: bool, window: int = 3):
    """TrainStep around a one-weight 'network' whose gradient is the mean of its input images."""
    import mindspore as ms
    from mindspore import nn, ops

    from src.train.step import TrainStep

    class Linear(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = ms.Parameter(ms.Tensor(np.ones(1, np.float32)), name="w")

        def construct(self, images, targets, target_lengths, weight):
            return ops.reduce_mean(images) * self.w[0]

    net = Linear()
    optimizer = nn.SGD(net.trainable_params(), learning_rate=0.1)
    update = nn.DynamicLossScaleUpdateCell(loss_scale, 2, window) if dynamic else None
    return TrainStep(net, optimizer, 0.0, update, loss_scale), net


def run_step(step, value: float):
    import mindspore as ms
    images = ms.Tensor(np.full((2, 3, 4, 4), value, np.float32))
    zeros = ms.Tensor(np.zeros((2, 1), np.int32))
    loss, finite, scale = step(images, zeros, ms.Tensor(np.ones(2, np.int32)), ms.Tensor(np.ones(2, np.float32)))
    return float(loss.asnumpy()), bool(finite.asnumpy()), float(scale.asnumpy())


def test_dynamic_loss_scale_skips_an_overflow_halves_then_grows_after_the_window():
    step, net = tiny_train_step(2.0 ** 100, dynamic=True, window=3)
    _, finite, used = run_step(step, 1e10)                  # 1e10 * 2**100 overflows fp32
    assert (finite, used) == (False, 2.0 ** 100)
    assert float(net.w.asnumpy()[0]) == 1.0                  # no update
    assert float(step.scale_sense.asnumpy()) == 2.0 ** 99
    for _ in range(3):                                       # finite steps: unscaled gradient 0.5 -> w -= 0.1*0.5
        _, finite, used = run_step(step, 0.5)
        assert finite and used == 2.0 ** 99
    assert float(step.scale_sense.asnumpy()) == 2.0 ** 100   # doubled after scale_window finite steps
    assert abs(float(net.w.asnumpy()[0]) - (1.0 - 3 * 0.05)) < 1e-6   # gradients were unscaled exactly


def test_static_loss_scale_skips_an_overflow_and_keeps_its_scale():
    step, net = tiny_train_step(2.0 ** 100, dynamic=False)
    assert run_step(step, 1e10)[1:] == (False, 2.0 ** 100)
    assert run_step(step, 0.5)[1:] == (True, 2.0 ** 100)
    assert float(step.scale_sense.asnumpy()) == 2.0 ** 100
    assert abs(float(net.w.asnumpy()[0]) - 0.95) < 1e-6


@pytest.fixture()
def graph_mode():
    """GRAPH mode, as train.py runs (MindSpore 2.8's PyNative fp16 CPU kernels give non-finite gradients)."""
    import mindspore as ms
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)


@pytest.mark.parametrize("amp_level", ["O1", "O3"])
def test_amp_levels_train_the_crnn_and_update_batchnorm_statistics(amp_level, graph_mode):
    import mindspore as ms

    from src.charset import Charset
    from src.config import load_config
    from src.model import build_crnn
    from src.train.step import train_step_from_config

    cfg = load_config([f"--amp_level={amp_level}", "--hidden_size=32"])
    charset = Charset.from_config(cfg)
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    step = train_step_from_config(cfg, net, charset, 10)
    step.set_train(True)
    bn = net.vgg.conv3.bn
    moving_mean = bn.moving_mean.asnumpy().copy()
    weight = net.vgg.conv1.conv.weight.asnumpy().copy()
    rng = np.random.default_rng(0)
    images = ms.Tensor(rng.random((4, 3, 32, 100), np.float32))
    targets = ms.Tensor(np.array([[1, 2, 3]] * 4, np.int32))
    finite_steps = []
    for _ in range(4):   # fp16 weight gradients may overflow at the initial scale: the scaler then halves it
        loss, finite, scale = step(images, targets, ms.Tensor(np.full(4, 3, np.int32)),
                                   ms.Tensor(np.ones(4, np.float32)))
        assert np.isfinite(float(loss.asnumpy()))
        finite_steps.append(bool(finite.asnumpy()))
    assert any(finite_steps)
    assert float(step.scale_sense.asnumpy()) == cfg.loss_scale / 2 ** finite_steps.count(False)
    assert not np.allclose(moving_mean, bn.moving_mean.asnumpy())   # BatchNorm statistics still move
    assert not np.allclose(weight, net.vgg.conv1.conv.weight.asnumpy())
    assert net.vgg.conv1.conv.weight.dtype == ms.float32            # master weights stay fp32
    if amp_level == "O1":
        fp16 = {type(c).__name__ for _, c in net.cells_and_names() if c.get_flags().get("fp16")}
        assert {"Conv2d", "Dense", "LSTM"} <= fp16 and not {"BatchNorm2d", "ReLU", "MaxPool2d", "CRNN"} & fp16


@pytest.mark.system
def test_o2_training_counts_loss_scale_overflows_apart_from_bad_steps(tmp_path):
    """train.py --amp_level=O2 with a scale so large that fp16 gradients overflow: every step halves the
    scale and skips its update, none counts towards max_bad_steps (which would stop the run at 2)."""
    res = subprocess.run([sys.executable, "train.py", "--amp_level=O2", "--max_steps=4", "--batch_size=8",
                          "--loss_scale=1073741824", "--max_bad_steps=2", "--hidden_size=32",
                          f"--save_checkpoint_path={tmp_path}", "--save_checkpoint=False"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "gradients overflow at loss scale 1.07374e+09: update skipped, scale now 5.36871e+08" in res.stdout
    done = [line for line in res.stdout.splitlines() if " done: " in line][0]
    assert "non-finite steps skipped 0" in done
    overflows = int(done.split("loss-scale overflows ")[1].split()[0])
    scale = float(done.split("scale now ")[1].rstrip(")"))
    assert overflows >= 1 and scale == pytest.approx(2.0 ** 30 / 2 ** overflows, rel=1e-5)


# ------------------------------------------------------------------ export: LSTM weights for the target device

def test_a_gpu_packed_mindir_differs_on_cpu_and_export_packs_for_the_target(tmp_path):
    import mindspore as ms

    from src.model import CRNN, pack_lstm_weights_for
    from src.serve.backends import MindIRBackend

    net = CRNN(37, 32)
    net.set_train(False)
    x = ms.Tensor(np.random.default_rng(1).random((2, 3, 32, 100), np.float32))
    reference = net(x).asnumpy()
    outputs = {}
    for target in ("GPU", "CPU"):   # GPU: as the network is when built on a GPU
        built = CRNN(37, 32)
        ms.load_param_into_net(built, net.parameters_dict(), strict_load=True)
        built.set_train(False)
        assert pack_lstm_weights_for(built, target) == 2     # one kernel cell per BiLSTM
        ms.export(built, x, file_name=str(tmp_path / target), file_format="MINDIR")
        outputs[target] = ms.nn.GraphCell(ms.load(str(tmp_path / f"{target}.mindir")))(x).asnumpy()
    assert np.abs(outputs["GPU"] - reference).max() > 1e-3   # the silent error a GPU export made on CPU
    np.testing.assert_allclose(outputs["CPU"], reference, atol=1e-5)
    with pytest.raises(Exception, match="exported for GPU .* --export_target=CPU"):
        MindIRBackend(str(tmp_path / "GPU.mindir"), 2, target="GPU")


@pytest.mark.system
def test_export_for_gpu_is_refused_by_cpu_inference_in_one_line(tmp_path, iiit5k_dir):
    from src import checkpoint
    from src.model import CRNN

    ckpt = str(tmp_path / "crnn.ckpt")
    checkpoint.save(CRNN(37, 256), ckpt, {"alphabet": "0123456789abcdefghijklmnopqrstuvwxyz"})
    res = subprocess.run([sys.executable, "export.py", f"--checkpoint_path={ckpt}", "--export_target=GPU",
                          "--batch_size=2", f"--file_name={tmp_path}/crnn_gpu"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((tmp_path / "crnn_gpu.json").read_text())["target"] == "GPU"
    res = subprocess.run([sys.executable, "infer.py", os.path.join(iiit5k_dir, "test"), "--model",
                          str(tmp_path / "crnn_gpu.mindir")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert res.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "exported for GPU" in res.stderr and "--export_target=CPU" in res.stderr and "Traceback" not in res.stderr


def test_a_missing_gpu_is_one_clear_error_before_mindspore_is_touched(monkeypatch, cfg):
    from src import utils

    monkeypatch.setattr(utils, "gpu_available", lambda: False)
    cfg.device_target = "GPU"
    with pytest.raises(SetupError, match=r"--device_target=GPU but no NVIDIA GPU is visible .* use --device_target=CPU"):
        utils.setup_context(cfg)
