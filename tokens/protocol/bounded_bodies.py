"""Reading an HTTP answer's body within a size and a time: what a fetch from another server needs.

Both fetches this project makes of other servers' documents (an issuer's metadata, JWKS and
introspection answers in ``resource_server.transport``; a client's ``jwks_uri`` in
``clients.client_assertions``) read through here, so a server that sends too much, or a byte at a
time, is cut off the same way.
"""

import time


class BodyRefused(OSError):
    """A body this side stops reading: over its size, or not all arrived in its time. The message says which."""


def read_bounded(response, *, max_bytes: int, seconds: float, chunk: int = 65536) -> bytes:
    """The whole body of response (anything with urllib3's ``read1``), at most max_bytes, within seconds.

    Each read returns what has arrived (``read1``), so the time bounds the whole body, not only each
    read. Raises ``BodyRefused`` past either bound; the caller closes the response.
    """
    deadline = time.monotonic() + seconds
    body = bytearray()
    while part := response.read1(chunk):
        body += part
        if len(body) > max_bytes:
            raise BodyRefused(f"over {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise BodyRefused(f"not all of it arrived within {seconds:g} s")
    return bytes(body)
