"""Turn training checkpoints (network + optimizer state) into one network-only release checkpoint.

    python tools/release_checkpoint.py --checkpoint_path runs/ckpt_0/crnn-8_500.ckpt --output checkpoints/crnn_cpu.ckpt
    python tools/release_checkpoint.py --checkpoint_path runs/ckpt_0/crnn-6_500.ckpt,runs/ckpt_0/crnn-7_500.ckpt,runs/ckpt_0/crnn-8_500.ckpt --output avg.ckpt

Several comma-separated checkpoints are averaged parameter by parameter (checkpoint averaging: the
weights of the last epochs of one run, a cheap ensemble). The release keeps the metadata (the model
spec, config hash, epoch/step of the last one) and is about a third of the size of a training checkpoint.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from src.config import CHOICES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--checkpoint_path", required=True, help="one checkpoint, or several comma-separated to average")
    parser.add_argument("--output", required=True)
    parser.add_argument("--alphabet", default="", help="the checkpoints' alphabet (default: their own metadata)")
    parser.add_argument("--resize_interpolation", default="", choices=CHOICES["resize_interpolation"],
                        help="record the resizing the model was trained with (default: the checkpoint's own)")
    args = parser.parse_args()

    import mindspore as ms

    from src import checkpoint
    from src.model import CRNN
    from src.spec import SpecError, resolve

    paths = [p for p in args.checkpoint_path.split(",") if p]
    try:
        first_meta = checkpoint.read(paths[0])[1]
        spec = resolve(first_meta, {"alphabet": args.alphabet or None,
                                    "resize_interpolation": args.resize_interpolation or None}, paths[0])
        net = CRNN(len(spec.alphabet) + 1, spec.hidden_size)
        total = None
        for path in paths:
            meta = checkpoint.load_into(net, path, spec.alphabet)
            values = {p.name: p.asnumpy().astype("float64") for p in net.get_parameters()}
            total = values if total is None else {k: total[k] + v for k, v in values.items()}
    except (checkpoint.CheckpointError, SpecError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for p in net.get_parameters():
        p.set_data(ms.Tensor((total[p.name] / len(paths)).astype(p.asnumpy().dtype)))
    meta.pop("global_step_num", None)  # a release is a starting point, not a run to resume
    meta.update(spec.to_meta())          # the whole model spec, also for checkpoints that predate it
    checkpoint.save(net, args.output, meta)
    what = f"the average of {len(paths)} checkpoints" if len(paths) > 1 else paths[0]
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB) from {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
