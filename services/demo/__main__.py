from __future__ import annotations

import sys
from pathlib import Path

from services.demo.clip import write_demo_clip

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m services.demo OUT.mp4")
    out = write_demo_clip(Path(sys.argv[1]))
    print(f"demo clip written to {out}")
