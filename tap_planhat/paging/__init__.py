"""A stream's paging, in one place: which pages to ask for, which records to keep, reading ahead.

* :mod:`~tap_planhat.paging.stream_run`: what one sync of a stream keeps from page to page,
  and the request function singer-sdk's loop calls (reading ahead first).
* :mod:`~tap_planhat.paging.paginator`: singer-sdk's paginator over the shared
  :class:`~planhat_common.paging.OffsetPager` (offsets and the short-page rule, shared with
  the client's ``list_all``), and pages decoded in ``validate_response``.
* :mod:`~tap_planhat.paging.page_filter`: which records of a page are emitted (each ``_id``
  once, none older than the bookmark).
* :mod:`~tap_planhat.paging.read_ahead`: the pages requested before the loop asks.
"""
