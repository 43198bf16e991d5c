"""The Intercom API client: one transport (auth, regions, rate limits, retries) under
typed resource methods for every operation of the Preview spec.

``transport`` sends (the one seam), ``operation`` turns an operation and its arguments
into a request, ``paging`` walks the five paging styles, ``resource`` types replies,
``api/`` is generated from the spec by ``tools/generate_intercom.py``, ``client`` puts
it together (with sync's view of AI Content), ``cli`` is ``syncer api``, and
``publisher`` applies sync plans through the client.
"""
