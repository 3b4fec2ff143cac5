"""Fault injection, installed by the tests (never part of the training loop): a process started with
``PYTHONPATH=tests/fault`` and ``CRNN_FAIL_AT=<rank>:<step>`` raises a user error on that rank when it
prepares that step's batch, as a crash inside a real run would."""
import os
import sys

_SPEC = os.environ.get("CRNN_FAIL_AT", "")
if _SPEC and os.environ.get("MS_ROLE") != "MS_SCHED":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from src.train import trainer
    from src.errors import SetupError

    _rank, _step = (int(x) for x in _SPEC.split(":"))
    _prepare = trainer._to_tensors
    _steps = [0]

    def _to_tensors_with_fault(batch):
        _steps[0] += 1
        rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("MS_NODE_ID", "0")))
        if (rank, _steps[0]) == (_rank, _step):
            raise SetupError(f"injected fault on rank {rank} at step {_steps[0]} (CRNN_FAIL_AT)")
        return _prepare(batch)

    trainer._to_tensors = _to_tensors_with_fault
