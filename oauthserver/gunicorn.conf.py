"""gunicorn settings for every way this project is served: ``make run``, the README's production
command and ``make bench`` (``gunicorn --config oauthserver/gunicorn.conf.py ...``).

Set here: the worker class and its threads, and the access log's format. The command line still
chooses whether there is an access log (``--access-logfile -``), the bind address and the number
of worker processes (about one per core).
"""

# Threaded workers (README "Running in production", "Worker class"): a sync worker is held by one
# connection for as long as its client takes to send the request, so two clients sending a byte a
# second stalled both of make run's workers until the master killed them 30 s later (losing each
# process's lockout counts). A gthread worker serves each request on one of its threads, so it takes
# `threads` such clients per worker to stall it. That bounds the harm, it does not end it: in
# production a buffering reverse proxy in front (nginx, with header and body timeouts) is still
# required. With four threads the workers' CPU per request stayed within ±9% of sync workers'
# in `make bench` (the token endpoint is CPU-bound and the GIL lets one thread run at a time); each
# thread holds its own database connection: size PostgreSQL for workers x threads.
worker_class = "gthread"
threads = 4

# gunicorn's default format logs the HTTP Basic user (%(u)s), which is the client id, or the
# secret itself for a client that swaps the two; and the request line (%(r)s), whose query string
# carries whatever a client put there. So: no user, the path without its query (%(U)s), and no
# Referer, which may carry another page's query. The rest is the combined log format.
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "-" "%(a)s"'
