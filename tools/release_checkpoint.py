"""Turn a training checkpoint (network + optimizer state) into a network-only release checkpoint.

    python tools/release_checkpoint.py --checkpoint_path runs/ckpt_0/crnn-8_500.ckpt --output checkpoints/crnn_rendered_cpu.ckpt

The release keeps the metadata (alphabet, config hash, epoch/step) and is about a third of the size.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--checkpoint_path", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    from src import checkpoint
    from src.charset import Charset
    from src.config import load_config
    from src.model import build_crnn

    cfg = load_config([])
    charset = Charset.from_config(cfg)
    net = build_crnn(cfg, charset.num_classes)
    meta = checkpoint.load_into(net, args.checkpoint_path, charset.alphabet)
    meta.pop("global_step_num", None)  # a release is a starting point, not a run to resume
    checkpoint.save(net, args.output, meta)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB) from {args.checkpoint_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
