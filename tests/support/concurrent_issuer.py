"""A separate OS process of issuers for the concurrency test (PostgreSQL).

Usage: python -m tests.support.concurrent_issuer PROCESS_NO THREADS PER_THREAD
Environment: DATABASE_URL of the (already migrated and seeded) test database.
Prints one JSON line: the (busNo, receiptCode, number, created) of every issuance.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import connection

    from issuance.models import Receipt
    from issuance.payload import parse_issue_input
    from issuance.services import receipt_issue
    from tests.conftest import nontax_payload
    from zhongtai.audit.services import Actor
    from zhongtai.masterdata.models import Unit

    process_no, threads, per_thread = (int(arg) for arg in sys.argv[1:4])
    unit_code = os.environ["EREC_CONCURRENCY_UNIT"]
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def issuer(thread_no: int) -> None:
        unit = Unit.objects.select_related("region").get(code=unit_code)
        barrier.wait()
        for seq in range(per_thread):
            # Every issuer also races for one shared busNo: exactly one receipt must result.
            bus_nos = [f"P{process_no}T{thread_no}N{seq}"] + (["SHARED-0001"] if seq == 0 else [])
            for bus_no in bus_nos:
                data, errors = parse_issue_input(nontax_payload(bus_no), require_bus_no=True)
                assert data is not None, errors.fields
                receipt, created = receipt_issue(
                    unit=unit, data=data, actor=Actor.system("concurrency"), source=Receipt.Source.API
                )
                with lock:
                    results.append(
                        {"busNo": bus_no, "code": receipt.receipt_code, "number": receipt.number, "created": created}
                    )
        connection.close()

    workers = [threading.Thread(target=issuer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
