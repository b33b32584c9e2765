from tests.url_specs import UrlSpec


def _token(world, own):
    from tracking.models import Campaign
    from tracking.selfreport import make_token

    campaign, _ = Campaign.objects.get_or_create(name="URL matrix campaign", defaults={"started_on": "2026-06-01"})
    return {"token": make_token(member=world.member_a if own else world.member_b, campaign=campaign)}


SPECS = [
    UrlSpec("tracking:dashboard", "staff"),
    UrlSpec("tracking:self_report", "public", _token, scoped=False),
]
