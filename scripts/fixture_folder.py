"""What the published-figures generators share: write a fixture folder, or check it.

Each generator builds its files as {name: text} and calls `main(argv, out, files, doc)`:
without arguments the folder is rewritten (files the generator no longer writes are removed);
with `--check` nothing is written, and the exit status is 1 when a committed file differs from
what the generator writes or is not written by it.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv, out, build, doc):
    files = {name: text.encode("utf-8") for name, text in build().items()}
    script = Path(argv[0]).name
    if argv[1:] == ["--check"]:
        present = {p.name for p in out.iterdir() if p.is_file()} if out.is_dir() else set()
        stale = sorted(n for n, b in files.items() if not (out / n).is_file() or (out / n).read_bytes() != b)
        extra = sorted(present - set(files))
        if stale or extra:
            for n in stale:
                print(f"differs from the generator: {out / n}", file=sys.stderr)
            for n in extra:
                print(f"not written by the generator: {out / n}", file=sys.stderr)
            print(f"run: python3 scripts/{script}", file=sys.stderr)
            return 1
        print(f"{out.relative_to(ROOT)}: up to date")
        return 0
    if argv[1:]:
        print(doc.split("Usage:")[1].split("Python 3")[0].rstrip(), file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for p in out.iterdir():
        if p.is_file() and p.name not in files:
            p.unlink()
    for name, data in files.items():
        (out / name).write_bytes(data)
    print(f"wrote {len(files)} files to {out.relative_to(ROOT)}")
    return 0
