from tests.url_specs import UrlSpec


def batch(world, own):
    from imports.models import ImportBatch

    created = ImportBatch.objects.create(created_by=world.admin, file_name="members.csv", file_format="csv")
    return {"pk": created.pk}


# Imports are office-wide (admins, and head office given the permission): a batch belongs to no office.
SPECS = [
    UrlSpec("imports:batch_list", "admin"),
    UrlSpec("imports:batch_detail", "admin", batch, scoped=False),
    UrlSpec("imports:batch_map", "admin", batch, scoped=False),
    UrlSpec("imports:batch_progress", "admin", batch, scoped=False),
    UrlSpec("imports:batch_errors", "admin", batch, scoped=False),
    UrlSpec("imports:batch_confirm", "admin", batch, method="POST", scoped=False),
    UrlSpec("imports:batch_cancel", "admin", batch, method="POST", scoped=False),
    UrlSpec("imports:batch_undo", "admin", batch, method="POST", scoped=False),
    UrlSpec("imports:export_members", "editor"),
    UrlSpec("imports:export_credentials", "admin"),
]
