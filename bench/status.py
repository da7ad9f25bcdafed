"""`appupdater status` on a big database.

    python bench/status.py --deployments 10000

One run deploying to every device; a third of the deployments succeeded, a third are retrying,
the rest queued. Prints document_ms (status_document: the query and the entries), json_ms
(document and `json.dumps`), text_ms (document and the text lines), and cli_ms (the whole
`appupdater status --json` process, start-up included), each the best of five.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from engine import fleet  # noqa: E402

from appupdater.core.fleetimport import import_fleet  # noqa: E402
from appupdater.core.planning import Selection, plan_update  # noqa: E402
from appupdater.core.runs import apply_configuration, create_run  # noqa: E402
from appupdater.core.status import status_document, status_text  # noqa: E402
from appupdater.store.db import close_database, open_database, writing  # noqa: E402
from appupdater.store.fields import utcnow  # noqa: E402
from appupdater.store.models import Deployment  # noqa: E402


def best_ms(work, times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "bench.sqlite3")
        open_database(database)
        import_fleet(fleet(args.deployments), "bench")
        run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="bench")
        apply_configuration(run_id)
        now = utcnow()
        with writing():
            ids = [d.id for d in Deployment.select(Deployment.id)]
            third = len(ids) // 3
            Deployment.update(
                state="succeeded", started_at=now, finished_at=now + timedelta(minutes=2)
            ).where(Deployment.id.in_(ids[:third])).execute()
            Deployment.update(
                state="retrying", started_at=now, next_attempt_at=now + timedelta(seconds=30)
            ).where(Deployment.id.in_(ids[third : 2 * third])).execute()
        document_ms = best_ms(status_document)
        json_ms = best_ms(lambda: json.dumps(status_document(), indent=2))
        text_ms = best_ms(lambda: "".join(status_text(status_document())))
        close_database()
        command = [sys.executable, "-m", "appupdater", "--database", database, "status", "--json"]
        cli_ms = best_ms(
            lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)
        )
    print(f"deployments={args.deployments}")
    print(f"document_ms={document_ms:.0f}")
    print(f"json_ms={json_ms:.0f}")
    print(f"text_ms={text_ms:.0f}")
    print(f"cli_ms={cli_ms:.0f}")


if __name__ == "__main__":
    main()
