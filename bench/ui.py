"""How fast the wizard's pages come up on a big fleet (planning excluded).

    python bench/ui.py --devices 100000

Prints devices_page_ms (plan handed to page 1 until painted), deployment_page_ms and
finalize_page_ms (Next until painted; Finalize in waves), deployment_waves_ms ("In waves" chosen
until painted), deployment_waves_sort_ms (sorted by site in waves, re-filled, until painted),
main_window_ms (inventory handed to the main window until painted), settled_objects and
heap_collect_ms (what the application's heap keeper then takes to collect with all of it
settled, appupdater/heap.py) and peak_rss_mb.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from plan import APPS, three_app_fleet  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from appupdater import heap  # noqa: E402
from appupdater.core.catalog import load_catalog  # noqa: E402
from appupdater.core.fleetimport import import_fleet  # noqa: E402
from appupdater.core.inventory import load_inventory  # noqa: E402
from appupdater.core.planning import Selection, plan_update  # noqa: E402
from appupdater.engine.build import build_engine  # noqa: E402
from appupdater.store.db import close_database, open_database  # noqa: E402
from appupdater.ui.app import configure_application  # noqa: E402
from appupdater.ui.main_window import MainWindow  # noqa: E402
from appupdater.ui.wizard.update_wizard import UpdateWizard  # noqa: E402


def painted(widget, start: float) -> float:
    QApplication.processEvents()
    widget.repaint()
    elapsed = (time.perf_counter() - start) * 1000
    if os.environ.get("BENCH_DEBUG"):
        print(
            f"  ({widget.currentId() if hasattr(widget, 'currentId') else '-'}: {elapsed:.0f} ms)"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    args = parser.parse_args()
    app = QApplication([])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CONFIG_HOME"] = folder  # no saved window state from elsewhere
        open_database(str(Path(folder) / "bench.sqlite3"))
        import_fleet(three_app_fleet(args.devices, 11), "bench")
        selections = [Selection(name) for name in APPS]
        catalog = load_catalog()
        plan = plan_update(selections, catalog)

        wizard = UpdateWizard(selections, catalog)
        wizard.show()
        while wizard.state.plan is None:  # the page plans in the background: excluded
            QApplication.processEvents()
            time.sleep(0.005)
        # the page's work once a plan is there: hand it the same plan again, time it to paint
        start = time.perf_counter()
        wizard.devices_page._planned(plan, None)
        devices_ms = painted(wizard, start)

        start = time.perf_counter()
        wizard.next()
        deployment_ms = painted(wizard, start)

        page = wizard.deployment_page
        start = time.perf_counter()
        page.strategy_box.in_waves.setChecked(True)
        waves_ms = painted(wizard, start)
        start = time.perf_counter()
        page.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        waves_sort_ms = painted(wizard, start)

        start = time.perf_counter()
        wizard.next()
        finalize_ms = painted(wizard, start)
        wizard.reject()

        inventory = load_inventory()
        window = MainWindow(build_engine())
        window.tasks.wait()
        window.show()
        start = time.perf_counter()
        window._loaded_inventory(inventory)
        main_ms = painted(window, start)
        # what the application's heap keeper costs with all of that settled
        settled = heap.settled_count()
        start = time.perf_counter()
        heap.collect_settled()
        collect_ms = (time.perf_counter() - start) * 1000
        window.close()
        window.tasks.wait()
        wizard.tasks.wait()
        close_database()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"devices={args.devices}")
    print(f"affected_devices={len(plan.devices())}")
    print(f"devices_page_ms={devices_ms:.0f}")
    print(f"deployment_page_ms={deployment_ms:.0f}")
    print(f"deployment_waves_ms={waves_ms:.0f}")
    print(f"deployment_waves_sort_ms={waves_sort_ms:.0f}")
    print(f"finalize_page_ms={finalize_ms:.0f}")
    print(f"main_window_ms={main_ms:.0f}")
    print(f"settled_objects={settled}")
    print(f"heap_collect_ms={collect_ms:.0f}")
    print(f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
