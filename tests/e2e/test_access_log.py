"""gunicorn's access log, as served (oauthserver/gunicorn.conf.py): no Basic user, no query string.

RFC 6749 §2.3.1 puts the client id, and for a client that swaps its id and secret the secret
itself, in the Basic user name, which gunicorn's default format logs (``%(u)s``); the request
line it logs (``%(r)s``) carries the query string.
"""

import requests

from .instances import eventually


def test_the_access_log_names_neither_the_basic_user_nor_the_query_string(setup):
    client = setup.create_client("logged", "--scopes", "read")
    access_log = setup.folder / "access.log"
    server = setup.start(args=("--access-logfile", str(access_log)))  # with the project's config, as every instance
    query = {"format": "json", "marker": "query-marker-7f3a"}
    right = requests.post(
        f"{server.url}/oauth/token", params=query, data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    swapped = requests.post(
        f"{server.url}/oauth/token", params=query, data={"grant_type": "client_credentials"},
        auth=(client["client_secret"], client["client_id"]), timeout=10,
    )
    assert (right.status_code, swapped.status_code) == (200, 401)

    def logged() -> list[str]:
        return [line for line in access_log.read_text().splitlines() if "/oauth/token" in line]

    assert eventually(lambda: len(logged()) == 2, within=5)
    for line in logged():
        assert '"POST /oauth/token HTTP/1.1" ' in line, line
        assert client["client_id"] not in line and client["client_secret"] not in line, line
        assert "marker" not in line and "format=json" not in line and "?" not in line, line
    assert client["client_secret"] not in server.log()  # nor the audit lines on standard output
