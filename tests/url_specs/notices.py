"""Notices are for admins only; they belong to no office, so the specs are not scoped."""

import datetime

from tests.url_specs import UrlSpec


def _notice(world):
    from notices.models import Notice
    from tracking.models import Campaign

    if "notice" not in world.extra:
        campaign, _ = Campaign.objects.get_or_create(
            name="URL行列テスト", defaults={"started_on": datetime.date(2026, 6, 1)}
        )
        world.extra["notice"] = Notice.objects.create(
            campaign=campaign,
            edition=2,
            title="テスト案内",
            date=datetime.date(2026, 6, 25),
            body="{{ 会社名 }} 様",
            author=world.admin,
        )
    return world.extra["notice"]


def notice(world, own):
    return {"pk": _notice(world).pk}


def delivery(world, own):
    from notices.models import Delivery

    d, _ = Delivery.objects.get_or_create(
        notice=_notice(world), member=world.member_a if own else world.member_b, channel="email"
    )
    return {"pk": d.pk}


SPECS = [
    UrlSpec("notices:list", "admin"),
    UrlSpec("notices:create", "admin"),
    UrlSpec("notices:copy_template", "admin", method="POST", id_params=("template", "campaign")),
    UrlSpec("notices:audience", "admin"),
    UrlSpec("notices:detail", "admin", notice, scoped=False),
    UrlSpec("notices:edit", "admin", notice, scoped=False),
    UrlSpec("notices:progress", "admin", notice, scoped=False),
    UrlSpec("notices:preview", "admin", notice, scoped=False, id_params=("member",)),
    UrlSpec("notices:test_send", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:request_approval", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:approve", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:send", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:pause", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:resume", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:cancel", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:bundle", "admin", notice, scoped=False),
    UrlSpec("notices:bundle_job", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:mark_printed", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:deliveries_bulk", "admin", notice, method="POST", scoped=False),
    UrlSpec("notices:delivery_retry", "admin", delivery, method="POST", scoped=False),
    UrlSpec("notices:delivery_resolve", "admin", delivery, method="POST", scoped=False),
]
