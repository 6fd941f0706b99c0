"""Request parameters: one value each, empty means absent (RFC 6749 §3.1, §3.2).

Where they may come from is the endpoints' business (``tokens.parsers``); here a request's
(name, value) pairs, from the body and the query string together, become one ``RequestParams``.
"""

from collections.abc import Iterable, Iterator, Mapping

from .errors import InvalidRequest

# The only names a request may repeat. RFC 8707 §2: ``resource`` may be given several times, once
# per audience wanted. Every other parameter given twice is invalid_request (RFC 6749 §3.2).
MULTI_VALUED: frozenset[str] = frozenset({"resource"})

# The only names read from a query string; anything else there is ignored like any unknown
# parameter. Credentials and tokens in a URL end up in access logs and proxies, so they never count.
QUERY_PARAMETERS: frozenset[str] = frozenset({"format"})


class RequestParams(Mapping[str, str]):
    """A request's parameters: a mapping of one value per name, and ``getlist`` for the rest.

    The mapping holds the single-valued names only; a name in ``MULTI_VALUED`` is read with
    ``getlist``, which gives its values in request order. Empty values are left out everywhere
    (RFC 6749 §3.1).
    """

    __slots__ = ("_values", "_lists")

    def __init__(self, values: Mapping[str, str], lists: Mapping[str, tuple[str, ...]]) -> None:
        self._values = dict(values)
        self._lists = dict(lists)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    # Mapping's own get and __contains__ go through __getitem__ and KeyError; these are on the
    # token path, a few times per request.
    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._values.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        # Values are left out: they may be secrets or tokens.
        return f"RequestParams(names={sorted([*self._values, *self._lists])!r})"

    def getlist(self, name: str) -> tuple[str, ...]:
        """Every non-empty value of ``name``, in request order; ``()`` when absent."""
        if name in self._lists:
            return self._lists[name]
        return (self._values[name],) if name in self._values else ()


def sole_value(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of ``name`` when it is given once and not empty; None when absent or repeated.

    For choosing the response format before (or although) ``collect_params`` refuses a request.
    """
    values = [value for found, value in pairs if found == name]
    return values[0] if len(values) == 1 and values[0] else None


def collect_params(pairs: Iterable[tuple[str, str]]) -> RequestParams:
    """Collapse (name, value) pairs into one value per name, several for ``MULTI_VALUED`` names.

    RFC 6749 §3.1/§3.2: parameters sent without a value are treated as omitted, and no parameter
    may be included more than once (an empty copy counts as an inclusion). Raises
    ``InvalidRequest`` on the first repeated name outside ``MULTI_VALUED`` (RFC 8707 §2).
    """
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in MULTI_VALUED:
            if value != "":
                lists.setdefault(name, []).append(value)
            continue
        if name in seen:
            raise InvalidRequest(f"The parameter '{name}' is given more than once.")
        seen.add(name)
        if value != "":
            values[name] = value
    return RequestParams(values, {name: tuple(found) for name, found in lists.items()})
