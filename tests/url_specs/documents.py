from tests.url_specs import UrlSpec


def member(world, own):
    return {"pk": (world.member_a if own else world.member_b).pk}


def batch(world, own):
    from documents.models import BatchJob

    office, user = (world.office_a, world.clerk_a) if own else (world.office_b, world.clerk_b)
    job = BatchJob.objects.create(requested_by=user, office=office, reason="紛失再発行", member_ids=[], total=0)
    return {"pk": job.pk}


def export(world, own):
    from documents.models import ExportJob

    office, user = (world.office_a, world.clerk_a) if own else (world.office_b, world.clerk_b)
    job = ExportJob.objects.create(
        source="calllist", fmt="csv", requested_by=user, office=office, download_name="x.csv", content_type="text/csv"
    )
    return {"pk": job.pk}


SPECS = [
    UrlSpec("documents:card_issue", "reveal", member, method="POST", data=lambda w, own: {"reason": "紛失再発行"}),
    UrlSpec(
        "documents:address_list_issue", "reveal", member, method="POST", data=lambda w, own: {"reason": "紛失再発行"}
    ),
    UrlSpec("documents:password_reset", "reveal", member, method="POST", data=lambda w, own: {"confirm": "on"}),
    UrlSpec("documents:batch_list", "reveal", id_params=("office",)),
    UrlSpec(
        "documents:address_batch_create",
        "reveal",
        method="POST",
        data=lambda w, own: {"lists-office": (w.office_a if own else w.office_b).pk, "lists-reason": "紛失再発行"},
        id_params=("lists-office",),
    ),
    UrlSpec("documents:batch_detail", "reveal", batch),
    UrlSpec("documents:batch_progress", "reveal", batch),
    UrlSpec("documents:batch_cancel", "reveal", batch, method="POST"),
    UrlSpec("documents:batch_download", "reveal", batch, method="POST"),
    # An export job is seen by whoever may export (any staff; scoped like a batch); the file is the requester's.
    UrlSpec("documents:export_detail", "staff", export),
    UrlSpec("documents:export_progress", "staff", export),
    UrlSpec("documents:export_cancel", "staff", export, method="POST"),
    UrlSpec("documents:export_download", "staff", export, method="POST"),
]
