"""Pages of the streams singer-sdk will sync next, read while the current one is written.

singer-sdk syncs one stream after another (``Tap.sync_all``), so a catalog of short lists
would otherwise spend a round trip at the start of every stream and, to keep the budget
busy within a stream, guess at pages past the end of its list. Here the streams synced next
are read in the background, each one page after another: a page is asked for only once the
page before it said more follow (a full page that did not reach the bookmark), so every
such call is one the sequential read makes too (a *certain* call). The current stream reads
ahead past its next page only when these cannot keep the budget busy
(:func:`~tap_planhat.paging.read_ahead.read_ahead_depth`, ``elsewhere``).

What is emitted does not change: pages read early are handed to their stream's own loop
(:meth:`UpcomingPages.reached`) exactly where that loop asks for them (same requests, same
validation, same exceptions), and parsed there, on the main thread, in order. Whether a page
was the last is worked out twice, by the same rules on the same pages (the offset pager and
the stream's record filter): here to know whether to ask for the next page, and in the
loop, which alone decides what is emitted. Where an incremental stream's bookmark is
predicted wrong here, that costs calls, never records.

Memory: pages are read ahead for at most :attr:`UpcomingPages.window` streams at once, and
a call is started only while the answers held for streams not yet reached, plus those of
the calls in flight (each expected as large as the largest so far), stay within
:attr:`UpcomingPages.max_bytes` (their JSON size). Until the first answer says how large a
page is, one call is in flight. A stream whose pages were read to the end before its turn
asks for none past them (:attr:`EarlyPages.to_the_end`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planhat_common.paging import OffsetPager
from tap_planhat.paging.read_ahead import calls_to_keep_busy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    import requests

    from planhat_common.call_gate import CallGate
    from tap_planhat.paging.page_filter import PageFilter

#: A page read early: the response and its decoded records.
Page = tuple["requests.Response", list[dict[str, Any]]]


@dataclass
class EarlyPages:
    """Pages read for a stream before its sync, handed to it when it starts."""

    #: By the URL they were asked at, in page order; the last may still be in flight.
    pages: dict[str, Future[Page]] = field(default_factory=dict)
    #: They end with the list's last page (or the one reaching the bookmark): no page past
    #: them is worth asking for.
    to_the_end: bool = False


@dataclass(frozen=True)
class PlannedStream:
    """A stream in sync order whose pages can be read before its turn."""

    name: str
    #: The ``limit`` each request asks for.
    limit: int
    #: The request for the page at an offset, exactly as the stream's loop will build it.
    prepare: Callable[[int], requests.PreparedRequest]
    #: Sends a request through the one sender and validates and decodes its page; the event
    #: calls it off while it waits.
    fetch: Callable[[requests.PreparedRequest, threading.Event], Page]
    #: A fresh record filter that tells where the stream's loop will stop before the end of
    #: the list (its bookmark); None: it reads to the end.
    stops: Callable[[], PageFilter | None] = lambda: None


@dataclass
class _Chain:
    """One upcoming stream's pages, asked for one after another."""

    stream: PlannedStream
    pager: OffsetPager
    stops: PageFilter | None
    pages: dict[str, Future[Page]] = field(default_factory=dict)
    calling: bool = False
    #: No page is to be asked for after the last one: the list ended, or a call failed.
    ended: bool = False
    #: The last page read was the list's last (or reached the bookmark).
    to_the_end: bool = False
    held_bytes: int = 0


class UpcomingPages:
    """Pages of the streams after the current one in sync order, read ahead within bounds.

    The sync order is planned when the first stream starts (singer-sdk's ``sync_all`` is
    final, and only then is the selection surely applied). Each stream, as it starts, takes
    its pages read so far and its page in flight (:meth:`reached`), and reads on itself;
    reading ahead goes on with the streams after it. A stream that is never reached (the run
    failed) has its requests called off by :meth:`close`: unsent, they cost no call.
    """

    def __init__(
        self,
        window: int,
        max_bytes: int,
        plan: Callable[[], Sequence[PlannedStream]],
        gate: CallGate,
    ) -> None:
        """Read ahead at most ``window`` streams (0: none) of ``plan()``, holding ``max_bytes``.

        Calls go through ``gate`` (by the streams' ``fetch``); its measured call time and
        budget say how many keep the budget busy until the current stream says better.
        """
        self.window = max(0, window)
        self.max_bytes = max(0, max_bytes)
        self._plan = plan
        self._gate = gate
        self._order: list[_Chain] | None = None
        self._current = -1
        #: Calls the budget takes to stay busy, as the current stream last worked it out.
        self._wanted: int | None = None
        self._held_bytes = 0
        #: The largest answer read ahead so far: what a call in flight is expected to bring.
        self._largest_page = 0
        self._executor: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        #: The most streams read ahead at once, and the most bytes held for them at once.
        self.peak_streams = 0
        self.peak_bytes = 0

    def reached(self, name: str) -> EarlyPages:
        """Stream ``name`` starts: its pages read so far (or in flight); read on after it."""
        if not self.window:
            return EarlyPages()
        with self._lock:
            if self._order is None:
                self._order = [_chain(stream) for stream in self._plan()]
            index = next((i for i, c in enumerate(self._order) if c.stream.name == name), None)
            if index is None:
                return EarlyPages()
            for passed in self._order[self._current + 1 : index]:
                self._drop(passed)  # synced out of plan: nobody will ask for these
            self._current = index
            chain = self._order[index]
            chain.ended = True  # its own loop reads on from here
            self._held_bytes -= chain.held_bytes
            pages, chain.pages = chain.pages, {}
            self._start_calls()
            return EarlyPages(pages, chain.to_the_end)

    @property
    def certain_calls(self) -> int:
        """Calls asked for ahead and not answered yet: each is one the run makes anyway."""
        with self._lock:
            return sum(chain.calling for chain in self._ahead())

    def keep_busy(self, calls: int) -> None:
        """The budget takes ``calls`` in flight to stay busy: read ahead with all but one."""
        with self._lock:
            self._wanted = calls
            self._start_calls()

    def _ahead(self) -> Iterator[_Chain]:
        if self._order is not None:
            yield from self._order[self._current + 1 :]

    def _start_calls(self) -> None:
        """Ask for the next page of streams ahead, in sync order, as far as the bounds allow.

        All but one of the calls that keep the budget busy (the current stream's next page is
        the one), and only while what is held, plus what the calls in flight are expected to
        bring, stays within :attr:`max_bytes`.
        """
        wanted = self._wanted
        if wanted is None:
            gate = self._gate
            wanted = calls_to_keep_busy(
                gate.call_seconds, gate.budget.interval, gate.in_flight.limit
            )
        calling = sum(chain.calling for chain in self._ahead())
        room = max(1, wanted - 1) - calling
        streams = 0
        for chain in self._ahead():
            if streams >= self.window:
                break
            if chain.ended:
                continue
            streams += 1
            if chain.calling or room <= 0:
                continue
            if not self._largest_page and calling:
                break  # how large a page is, the first answer says: until then, one call
            expected = self._held_bytes + (calling + 1) * self._largest_page
            if self._held_bytes >= self.max_bytes or expected > self.max_bytes:
                continue
            if self._ask(chain):
                room -= 1
                calling += 1
        self.peak_streams = max(self.peak_streams, streams)

    def _ask(self, chain: _Chain) -> bool:
        try:
            prepared = chain.stream.prepare(chain.pager.offset)
        except Exception:  # noqa: BLE001 - the stream's own loop meets it, in its turn
            chain.ended = True
            return False
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.window, thread_name_prefix="read-ahead")
        chain.calling = True
        cancel = self._cancel
        chain.pages[prepared.url or ""] = self._executor.submit(self._read, chain, prepared, cancel)
        return True

    def _read(
        self, chain: _Chain, prepared: requests.PreparedRequest, cancel: threading.Event
    ) -> Page:
        """One page of ``chain``, on a worker thread; then asks for the next if it is certain."""
        try:
            response, page = chain.stream.fetch(prepared, cancel)
        except BaseException:
            with self._lock:
                chain.calling, chain.ended = False, True
                self._start_calls()
            raise  # the stream's loop gets it where it asks for this page
        # The filter may only move a bookmark-reaching page's verdict, never what is emitted.
        reached = chain.stops.select(page).reached_bookmark if chain.stops else False
        with self._lock:
            chain.calling = False
            if not chain.ended:  # a stream that started meanwhile reads on itself
                more = chain.pager.page_read(len(page), stop=reached).more
                chain.ended = chain.to_the_end = not more
                size = len(response.content)
                chain.held_bytes += size
                self._held_bytes += size
                self._largest_page = max(self._largest_page, size)
                self.peak_bytes = max(self.peak_bytes, self._held_bytes)
            self._start_calls()
        return response, page

    def _drop(self, chain: _Chain) -> None:
        chain.ended = True
        self._held_bytes -= chain.held_bytes
        chain.held_bytes = 0
        pages, chain.pages = chain.pages, {}
        for outcome in pages.values():
            outcome.cancel()

    def close(self) -> None:
        """Call off the pages no stream took; wait for those in flight; stop the threads."""
        with self._lock:
            chains, self._order = self._order or [], None
            self._current = -1
            self._held_bytes = 0
            for chain in chains:
                chain.ended = True
        self._cancel.set()
        self._cancel = threading.Event()
        for chain in chains:
            for outcome in chain.pages.values():
                drop(outcome)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def predicted_start_value(
    saved: Mapping[str, Any],
    replication_key: str,
    start_date: str | None,
    later: Callable[[str, str], str],
) -> str | None:
    """The bookmark singer-sdk will start an incremental stream from, worked out before it does.

    singer-sdk writes that value into the state only when the stream's sync starts: the
    saved ``replication_key_value`` if the state was saved for this ``replication_key``,
    ``start_date`` if there is none, else ``later(saved value, start_date)`` (the stream's
    ``compare_start_date``). ``saved`` is the stream's state as read before its sync.
    tests/test_sdk_contract.py pins that rule.
    """
    value = None
    if saved.get("replication_key") == replication_key:
        value = saved.get("replication_key_value") or None
    if start_date:
        value = later(value, start_date) if value else start_date
    return value


def _chain(stream: PlannedStream) -> _Chain:
    return _Chain(stream, OffsetPager(stream.limit), stream.stops())


def drop(outcome: Future[Page]) -> None:
    """Forget a page read early that its stream did not ask for: it is no longer needed."""
    if not outcome.cancel():
        outcome.exception()  # a page nobody asked for: its error is nobody's
