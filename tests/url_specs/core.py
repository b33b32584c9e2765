from tests.url_specs import UrlSpec


def member(world, own):
    return {"pk": (world.member_a if own else world.member_b).pk}


def address(world, own):
    m, a = (world.member_a, world.address_a) if own else (world.member_b, world.address_b)
    return {"member_pk": m.pk, "pk": a.pk}


SPECS = [
    UrlSpec("home", "staff"),
    UrlSpec("healthz", "public", server_statuses=(503,)),  # 503: a check failed (no beat heartbeat in tests)
    UrlSpec("favicon", "public"),
    UrlSpec("login", "public"),
    UrlSpec("login_verify", "public"),
    UrlSpec("logout", "staff", method="POST"),
    UrlSpec("account", "staff"),
    UrlSpec("audit_log", "head", id_params=("office", "actor", "page")),
    UrlSpec("audit_log_export", "head", lambda w, own: {"fmt": "csv"}, scoped=False, id_params=("office", "actor")),
    UrlSpec("members:search", "staff", id_params=("office", "page")),
    UrlSpec("members:create", "editor"),
    UrlSpec("members:detail", "staff", member),
    UrlSpec("members:edit", "editor", member),
    UrlSpec("members:reveal", "reveal", member, method="POST"),
    UrlSpec("members:mailaddresses:add", "editor", lambda w, own: {"member_pk": member(w, own)["pk"]}),
    UrlSpec("members:mailaddresses:edit", "editor", address),
    UrlSpec("members:mailaddresses:reveal", "reveal", address, method="POST"),
]
