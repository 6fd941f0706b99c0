"""HTTP hardening of the pages (admin and portal; the admin sign-in page stands for them):
security headers, a strict CSP, and Django's bound on form sizes."""


def test_pages_carry_the_security_headers_and_a_strict_csp(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["form-action"] == "'self'"


def test_forms_elsewhere_are_bounded_by_django(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/admin/login/", {"username": "a" * 5000, "password": "x"})
    assert response.status_code == 400
