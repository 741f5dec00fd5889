"""One batch write at a time, the one for a full batch in the background.

A bulk upsert of 5,000 records keeps Planhat busy for about as long as the target needs to
read and prepare the next 5,000; done one after the other, the two add up. A batch the SDK
drains because it is full is therefore written on one background thread while the next is
read. Everything else waits for that write first, so:

* calls stay sequential, as Planhat asks (docs/planhat-api.md, "Bulk upsert"): there is never
  more than one write job;
* STATE never runs ahead of acknowledged data. The SDK writes STATE only at the end of
  ``drain_all``, which drains every sink whose ``current_size`` is not 0; a sink whose batch
  is still being written counts it in ``current_size`` (``PlanhatSink.current_size``), so
  ``drain_all`` reaches that sink, whose drain waits here and raises the write's error, if
  it failed, before any STATE is written;
* a failed background write fails the run at the next drain, as a foreground one would.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


#: Seconds a thread holding the interpreter runs before a waiting one gets it (CPython: 5 ms).
#: The writer waits on the socket and needs the interpreter for a few dozen short steps per
#: call; handed it only every 5 ms, a bulk call took 0.6 s instead of the 0.37 s it takes
#: alone and full batches waited for it. At 0.2 ms the writes overlap the reading as meant:
#: 100,000 companies loaded in 10.5-11.1 s instead of 12.7-14.8 s on the benchmark machine.
SWITCH_INTERVAL = 0.0002


def prefer_the_writer() -> None:
    """Let the writer thread take over promptly when Planhat answers (command line only)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class BatchWriter:
    """Runs write jobs one at a time; the latest may still be running in the background."""

    def __init__(self) -> None:
        """No job yet; the thread starts with the first background job."""
        self._executor: ThreadPoolExecutor | None = None
        self._job: tuple[object, Future[None]] | None = None

    def busy_with(self, owner: object) -> bool:
        """Whether ``owner``'s job has not been waited for yet."""
        return self._job is not None and self._job[0] is owner

    def wait(self) -> None:
        """Wait for the job in the background, raising its error if it failed."""
        job, self._job = self._job, None
        if job is not None:
            job[1].result()

    def run(self, owner: object, work: Callable[[], None], *, background: bool) -> None:
        """After the previous job, run ``work`` now or (``background``) on the thread."""
        self.wait()
        if not background:
            work()
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="planhat-writer")
        self._job = (owner, self._executor.submit(work))

    def close(self) -> None:
        """Wait for the last job and stop the thread."""
        self.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
