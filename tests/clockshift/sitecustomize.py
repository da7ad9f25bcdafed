"""Tests only: a process started with this folder on PYTHONPATH and APPUPDATER_TEST_CLOCK_SHIFT_S
set runs with its wall clock shifted by that many seconds, as a machine whose clock is wrong
would: `time.time()` and `datetime.now()`/`utcnow()` move; `time.monotonic()` does not.

`datetime.datetime` is a C type whose `now()` reads the system clock itself, so the class is
replaced (before anything imports it) by a subclass that adds the shift; its metaclass keeps
`isinstance(plain_datetime, datetime)` true, as freezegun does. Debian's libfaketime breaks
`time.sleep` under Python 3.11, hence this hook.
"""

from __future__ import annotations

import datetime as _datetime_module
import os
import time as _time

_SHIFT = float(os.environ.get("APPUPDATER_TEST_CLOCK_SHIFT_S") or 0)

if _SHIFT:
    _real_time = _time.time
    _real_time_ns = _time.time_ns
    _real_datetime = _datetime_module.datetime
    _delta = _datetime_module.timedelta(seconds=_SHIFT)

    def _shifted_time() -> float:
        return _real_time() + _SHIFT

    def _shifted_time_ns() -> int:
        return _real_time_ns() + int(_SHIFT * 1e9)

    class _DatetimeMeta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, _real_datetime)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, _real_datetime)

    class ShiftedDatetime(_real_datetime, metaclass=_DatetimeMeta):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return _real_datetime.now(tz) + _delta

        @classmethod
        def utcnow(cls):  # type: ignore[no-untyped-def, override]
            return _real_datetime.now(_datetime_module.UTC).replace(tzinfo=None) + _delta

        @classmethod
        def today(cls):  # type: ignore[no-untyped-def, override]
            return cls.now()

    _time.time = _shifted_time
    _time.time_ns = _shifted_time_ns
    _datetime_module.datetime = ShiftedDatetime  # type: ignore[misc]
