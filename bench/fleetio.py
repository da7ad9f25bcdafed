"""Fleet-file import and export speed on a big fleet.

    python bench/fleetio.py --devices 100000

Prints name=value lines: export_yaml_100k_s (the store written as a YAML fleet file),
import_yaml_100k_s (that file imported into a fresh database, in a child process),
import_peak_rss_mb (the peak resident memory of that child: the bench's own setup does not
count) and the targets. The ``100k`` names are kept whatever --devices says, so runs compare.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGETS = {"import_yaml_100k_s": 8.0, "export_yaml_100k_s": 5.0, "import_peak_rss_mb": 600.0}


def import_in_child(fleet_file: Path, database: Path) -> tuple[float, float]:
    """Seconds to import `fleet_file` into the fresh `database`, and the child's peak RSS (MB)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child-import", str(fleet_file), str(database)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = float(result.stdout.strip().splitlines()[-1])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    return seconds, peak_kb / 1024


def child_import(fleet_file: str, database: str) -> None:
    from appupdater.core.fleetimport import import_file
    from appupdater.store.db import close_database, open_database

    open_database(database)
    start = time.perf_counter()
    summary = import_file(fleet_file)
    seconds = time.perf_counter() - start
    close_database()
    assert summary.devices_added, summary
    print(f"{seconds:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child-import", nargs=2, metavar=("FILE", "DATABASE"))
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import)
        return

    from appupdater.core.fleetimport import export_file, import_fleet
    from appupdater.demo.fleet import demo_fleet
    from appupdater.store.db import close_database, open_database

    with tempfile.TemporaryDirectory() as folder:
        open_database(str(Path(folder) / "source.sqlite3"))
        fleet, _ = demo_fleet(args.devices, args.seed)
        import_fleet(fleet, "bench")
        del fleet
        target = Path(folder) / "fleet.yaml"
        start = time.perf_counter()
        export_file(target)
        export_s = time.perf_counter() - start
        close_database()
        size_mb = target.stat().st_size / 1e6
        import_s, peak_mb = import_in_child(target, Path(folder) / "fresh.sqlite3")
    print(f"devices={args.devices}")
    print(f"yaml_file_mb={size_mb:.1f}")
    print(f"export_yaml_100k_s={export_s:.3f}")
    print(f"import_yaml_100k_s={import_s:.3f}")
    print(f"import_peak_rss_mb={peak_mb:.0f}")
    found = {"import_yaml_100k_s": import_s, "export_yaml_100k_s": export_s}
    found["import_peak_rss_mb"] = peak_mb
    for name, limit in TARGETS.items():
        print(f"{name}_target={limit:g} {'met' if found[name] < limit else 'MISSED'}")


if __name__ == "__main__":
    main()
