"""What documents.storage holds in the database, for tests that check a file is there, gone, or encrypted."""

from documents.models import StoredRecord


class StoredArea:
    def __init__(self, area: str):
        self.area = area

    def names(self) -> set[str]:
        return set(StoredRecord.objects.filter(area=self.area).values_list("name", flat=True))

    def raw(self, name: str) -> bytes:
        """The stored bytes of a file, records in order: what a database dump would show."""
        rows = StoredRecord.objects.filter(area=self.area, name=name).order_by("index").values_list("data", flat=True)
        return b"".join(bytes(data) for data in rows)
