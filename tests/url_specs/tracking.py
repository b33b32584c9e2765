import datetime

from tests.url_specs import UrlSpec


def _campaign():
    from tracking.models import Campaign

    campaign, _ = Campaign.objects.get_or_create(
        name="URL matrix campaign", defaults={"started_on": datetime.date(2026, 6, 1)}
    )
    return campaign


def _token(world, own):
    from tracking.selfreport import make_token

    return {"token": make_token(member=world.member_a if own else world.member_b, campaign=_campaign())}


def _account(world, own):
    from tracking.models import AccountStatus
    from tracking.services import accounts_enroll

    campaign = _campaign()
    member = world.member_a if own else world.member_b
    accounts_enroll(member=member)
    return {"pk": AccountStatus.objects.get(campaign=campaign, member=member, address=None).pk}


def _member(world, own):
    _account(world, own)  # an open account in the current campaign, so a link can be created
    return {"pk": (world.member_a if own else world.member_b).pk}


def _record_data(world, own):
    return {"status": "完了", "source": "電話", "status_on": datetime.date.today().isoformat(), "note": ""}


def _bulk_data(world, own):
    from tracking.models import AccountStatus

    pk = _account(world, own)["pk"]
    version = AccountStatus.objects.get(pk=pk).version
    return {**_record_data(world, own), "item": [f"{pk}:{version}"]}


FILTERS = ("campaign", "office")

SPECS = [
    UrlSpec("tracking:dashboard", "staff", id_params=FILTERS),
    UrlSpec("tracking:member_list", "staff", id_params=(*FILTERS, "page")),
    UrlSpec("tracking:member_export", "staff", lambda w, own: {"fmt": "xlsx"}, scoped=False, id_params=FILTERS),
    UrlSpec("tracking:account_list", "staff", id_params=(*FILTERS, "member", "page")),
    UrlSpec("tracking:bulk_update", "editor", method="POST", data=_bulk_data, id_params=("item",)),
    UrlSpec("tracking:account_record", "editor", _account, method="POST", data=_record_data, id_params=("version",)),
    UrlSpec(
        "tracking:member_accounts_done",
        "editor",
        _member,
        method="POST",
        data=lambda w, own: {"item": _bulk_data(w, own)["item"]},
        id_params=("item",),
    ),
    UrlSpec("tracking:self_report_link_create", "editor", _member, method="POST"),
    UrlSpec(
        "tracking:member_call_record",
        "editor",
        _member,
        method="POST",
        data=lambda w, own: {"result": "不在", "called_on": datetime.date.today().isoformat(), "note": ""},
    ),
    UrlSpec("tracking:self_report", "public", _token, scoped=False, id_params=("account",)),
]
