"""Train CRNN.

    python train.py                                   # rendered words on the fly, CPU
    python train.py --train_dataset=synth --train_dataset_path=./Syn90k/mnt/ramdisk/max/90kDICT32px --device_target=GPU
    mpirun -n 8 python train.py ... --run_distribute=True

Every key of default_config.yaml is a flag (python train.py --help).
"""
import os
import sys

from src.config import describe, load_config_or_exit


def main(argv=None) -> int:
    cfg = load_config_or_exit(argv, __doc__.split("\n")[1])
    from src.errors import CrnnError
    from src.train.distributed import choose_device, init_distributed
    from src.train.signals import TrainingInterrupted
    from src.train.trainer import Trainer, adopt_resumed_spec
    from src.utils import set_seed, setup_context, setup_logging

    try:
        adopted = adopt_resumed_spec(cfg)
        device = choose_device(os.environ, cfg.device_target, cfg.device_id, cfg.run_distribute)
        setup_context(cfg, device)
        dist = init_distributed(cfg.run_distribute, cfg.device_target, cfg.comm_timeout)
        log_file = os.path.join(cfg.save_checkpoint_path, f"log_rank{dist.rank}.txt") if dist.size > 1 else None
        log = setup_logging(log_file, dist.rank, to_stdout=dist.is_main)
        log.info("device: %s %s, %s", cfg.device_target, "auto" if device.device_id is None else device.device_id,
                 device.reason)
        for note in dist.notes + ((adopted,) if adopted else ()):
            log.info(note)
        log.info(describe(cfg, cfg.print_config))
        set_seed(cfg.seed)
        Trainer(cfg, dist).train()
    except TrainingInterrupted as err:
        print(str(err), file=sys.stderr)
        return err.exit_code
    except CrnnError as err:  # anything else is a bug: keep its traceback
        rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("MS_NODE_ID", ""))
        print(f"error{f' (rank {rank})' if cfg.run_distribute and rank else ''}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
