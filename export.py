"""Export a CRNN checkpoint to MINDIR, ONNX (opset 11) or AIR, with a fixed batch size.

    python export.py --checkpoint_path=ckpt_0/crnn-10_14110.ckpt --file_format=ONNX --batch_size=64 --file_name=crnn

Writes <file_name>.<mindir|onnx|air> and <file_name>.json (the model spec — alphabet, case, input
size, resizing —, batch size, target device) so that infer.py / eval.py --model need no flags; the
network is built from the checkpoint's own spec. A MINDIR runs on
the device named by --export_target (default CPU, whatever --device_target exports on). With ONNX, ``--int8=auto`` also
writes <file_name>_int8.onnx (+ .json): static or dynamic quantisation, whichever runs faster
on this machine with predictions agreeing with fp32 (``static``/``dynamic`` force one).
"""
import json
import os
import sys

from src.config import load_config_or_exit


def main(argv=None) -> int:
    cfg = load_config_or_exit(argv, __doc__.split("\n")[0])
    import numpy as np
    import mindspore as ms

    from src import checkpoint
    from src.charset import Charset
    from src.model import CRNN, pack_lstm_weights_for
    from src.errors import CrnnError, UsageError
    from src.spec import explicit_model_flags, resolve
    from src.utils import setup_context

    try:
        if not cfg.checkpoint_path:
            raise UsageError("no --checkpoint_path given")
        if cfg.file_format == "AIR" and cfg.device_target != "Ascend":
            raise UsageError("AIR export needs --device_target=Ascend; use MINDIR or ONNX here")
        target = "CPU" if cfg.file_format == "ONNX" else cfg.export_target  # ONNX has its own LSTM layout
        if target == "Ascend" and cfg.device_target != "Ascend":
            raise UsageError("--export_target=Ascend: export on the Ascend machine (--device_target=Ascend)")
        if cfg.int8 != "none" and cfg.file_format != "ONNX":
            raise UsageError(f"--int8={cfg.int8} needs --file_format=ONNX (int8 models run in ONNX Runtime)")
        spec = resolve(checkpoint.read(cfg.checkpoint_path)[1], explicit_model_flags(cfg),
                       f"checkpoint {cfg.checkpoint_path}")
        setup_context(cfg)
        charset = Charset(spec.alphabet, spec.case_sensitive)
        net = CRNN(charset.num_classes, spec.hidden_size)
        checkpoint.load_into(net, cfg.checkpoint_path, charset.alphabet)
        if target != "Ascend":
            pack_lstm_weights_for(net, target)
        net.set_train(False)
        dummy = ms.Tensor(np.zeros((cfg.batch_size, 3, spec.image_height, spec.image_width), np.float32))
        os.makedirs(os.path.dirname(os.path.abspath(cfg.file_name)), exist_ok=True)  # MindSpore would make it 0700
        ms.export(net, dummy, file_name=cfg.file_name, file_format=cfg.file_format)
    except CrnnError as err:  # anything else is a bug: keep its traceback
        print(f"error: {err}", file=sys.stderr)
        return 1
    path = f"{cfg.file_name}.{cfg.file_format.lower()}"
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)  # MindSpore writes the model read-only for its owner
    meta = {"format": cfg.file_format, "batch_size": cfg.batch_size, "target": target,
            "checkpoint": os.path.basename(cfg.checkpoint_path), **spec.to_meta(),
            "case_sensitive": spec.case_sensitive, "image_height": spec.image_height, "image_width": spec.image_width}
    write_meta(cfg.file_name, meta)
    print(f"exported {path} (batch {cfg.batch_size}) and {cfg.file_name}.json")
    if cfg.int8 != "none":
        from src.serve.quantize import choose_int8

        int8_name = f"{cfg.file_name}_int8"
        mode, note = choose_int8(path, f"{int8_name}.onnx", cfg.int8, cfg.batch_size,
                                 (spec.image_height, spec.image_width))
        write_meta(int8_name, dict(meta, int8=mode))
        print(f"exported {int8_name}.onnx and {int8_name}.json: {note}")
    return 0


def write_meta(name: str, meta: dict) -> None:
    with open(f"{name}.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
