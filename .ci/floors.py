"""Print the lowest supported version of every requirement (setup.cfg's floors, ``name>=X`` as
``name==X``), the library's and its ecosystems' extras: the constraints of CI's "lowest" environment.

    python .ci/floors.py > floors.txt && pip install -c floors.txt ".[all]"
"""
import configparser
import re
from pathlib import Path

EXTRAS = ("art", "torchattacks", "captum")


def floors(setup_cfg: Path) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg)
    lines = cfg["options"]["install_requires"].split("\n")
    lines += [line for extra in EXTRAS for line in cfg["options.extras_require"][extra].split("\n")]
    pins = []
    for line in filter(None, (line.strip() for line in lines)):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)(,.*)?", line)
        if match is None:
            raise SystemExit(f"setup.cfg: {line!r} has no floor (name>=version): every requirement states one")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


if __name__ == "__main__":
    print("\n".join(floors(Path(__file__).resolve().parent.parent / "setup.cfg")))
