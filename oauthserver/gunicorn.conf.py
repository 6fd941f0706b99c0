"""gunicorn settings for every way this project is served: ``make run``, the README's production
command and ``make bench`` (``gunicorn --config oauthserver/gunicorn.conf.py ...``).

Only the access log's format is set here; the command line still chooses whether there is an
access log (``--access-logfile -``), the bind address and the workers.
"""

# gunicorn's default format logs the HTTP Basic user (%(u)s), which is the client id, or the
# secret itself for a client that swaps the two; and the request line (%(r)s), whose query string
# carries whatever a client put there. So: no user, the path without its query (%(U)s), and no
# Referer, which may carry another page's query. The rest is the combined log format.
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "-" "%(a)s"'
