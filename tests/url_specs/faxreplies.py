from tests.url_specs import UrlSpec


def _import(world, own):
    from faxreplies.models import FaxImport

    office, user = (world.office_a, world.clerk_a) if own else (world.office_b, world.clerk_b)
    job = FaxImport.objects.create(uploaded_by=user, office=office, kind="pdf", status=FaxImport.Status.DONE)
    return job


def import_kwargs(world, own):
    return {"pk": _import(world, own).pk}


def page_kwargs(world, own):
    from faxreplies.models import FaxPage

    member = world.member_a if own else world.member_b
    page = FaxPage.objects.create(fax_import=_import(world, own), number=1, match=FaxPage.Match.NO_CODE)
    page.member = member
    page.save(update_fields=["member"])
    return {"pk": page.pk}


SPECS = [
    UrlSpec("faxreplies:import_list", "editor"),
    UrlSpec("faxreplies:import_detail", "editor", import_kwargs),
    UrlSpec("faxreplies:import_progress", "editor", import_kwargs),
    UrlSpec("faxreplies:page_image", "editor", page_kwargs),
    UrlSpec("faxreplies:page_confirm", "editor", page_kwargs, method="POST"),
    UrlSpec("faxreplies:page_match", "editor", page_kwargs, method="POST", data=lambda w, own: {"p1-number": "x"}),
    UrlSpec("faxreplies:page_dismiss", "editor", page_kwargs, method="POST"),
]
