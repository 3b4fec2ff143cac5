"""Convert an IIIT5K .mat annotation into the annotation.txt that eval.py reads.

    python convert_iiit5k.py -m ./IIIT5K/testdata.mat -o ./IIIT5K -a ./IIIT5K/annotation.txt

Accepts testdata.mat / traindata.mat (ImgName, GroundTruth) and testCharBound.mat /
trainCharBound.mat (ImgName, chars). Writes ``test/1002_1.png,PRIVATE`` lines with
image paths relative to the dataset root ``-o``, and reports images missing there.
"""
import argparse
import os
import sys

from tqdm import tqdm

from src.config import add_bool_flag


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="IIIT5K .mat -> annotation.txt", allow_abbrev=False)
    parser.add_argument("-m", "--mat_file", required=True, help="testdata.mat, traindata.mat or *CharBound.mat")
    parser.add_argument("-o", "--output_dir", default=None,
                        help="dataset root holding the images (default: the folder of the .mat file)")
    parser.add_argument("-a", "--output_annotation", default=None,
                        help="annotation file to write (default: <output_dir>/annotation.txt)")
    add_bool_flag(parser, "lexicons",
                  help="also write lexicon_small.txt / lexicon_medium.txt (smallLexi / mediumLexi) next to "
                       "the annotation, for eval.py --lexicon=small|medium")
    add_bool_flag(parser, "allow_missing", help="write the file even if images are missing")
    args = parser.parse_args(argv)

    from src.data.iiit5k_mat import MatFormatError, read_iiit5k_mat

    root = args.output_dir or os.path.dirname(os.path.abspath(args.mat_file))
    out = args.output_annotation or os.path.join(root, "annotation.txt")
    try:
        entries, small, medium = read_iiit5k_mat(args.mat_file)
    except MatFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not os.path.isdir(root):
        print(f"error: dataset root not found: {root}", file=sys.stderr)
        return 1
    missing, lines = [], []
    for name, word in tqdm(entries, desc="check images", unit="img", disable=None):
        rel = os.path.relpath(name, root) if os.path.isabs(name) else name.replace("\\", "/")
        rel = rel[2:] if rel.startswith("./") else rel
        if not os.path.isfile(os.path.join(root, rel)):
            missing.append(rel)
        if "," in rel:
            print(f"error: image name with a comma cannot be written: {rel}", file=sys.stderr)
            return 1
        lines.append(f"{rel},{word}")
    if missing:
        print(f"warning: {len(missing)} of {len(entries)} images not found under {root}, e.g. {missing[:5]}",
              file=sys.stderr)
        if not args.allow_missing:
            print("error: not writing an annotation with missing images (use --allow_missing to force)",
                  file=sys.stderr)
            return 1
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} entries to {out} ({len(missing)} missing images)")
    if args.lexicons:
        for size, lexicons in (("small", small), ("medium", medium)):
            if lexicons is None:
                print(f"error: {args.mat_file} has no {size} lexicons (smallLexi/mediumLexi)", file=sys.stderr)
                return 1
            path = os.path.join(os.path.dirname(os.path.abspath(out)), f"lexicon_{size}.txt")
            with open(path, "w", encoding="utf-8") as f:
                for line, words in zip(lines, lexicons):
                    f.write(line.rsplit(",", 1)[0] + "\t" + " ".join(words) + "\n")
            print(f"wrote {size} lexicons ({len(lexicons[0]) if lexicons else 0} words per image) to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
