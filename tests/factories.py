import datetime

import factory

from mailaddresses.models import AdditionalMailAddress
from members.models import Member, SalesOffice


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    number = factory.Sequence(lambda n: f"{200000 + n:06d}")
    registered_on = datetime.date(2025, 10, 1)
    name = factory.Sequence(lambda n: f"株式会社テスト商事{n}")
    name_kana = factory.Sequence(lambda n: f"テストショウジ{n}")
    postal_code = "540-0001"
    address = "大阪府大阪市中央区本町1-2-3"
    phone = "06-6000-0000"
    fax = "06-6000-0001"
    office = factory.LazyFunction(lambda: SalesOffice.objects.get(code="osaka"))
    biglobe_user_id = factory.Sequence(lambda n: f"tst{200000 + n:06d}")
    biglobe_password = factory.Sequence(lambda n: f"Init{n:04d}pw")
    email = factory.LazyAttribute(lambda m: f"{m.biglobe_user_id}@efnet-demo.example")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdditionalMailAddress

    member = factory.SubFactory(MemberFactory)
    slot = factory.Sequence(lambda n: n + 1)
    address = factory.Sequence(lambda n: f"extra{n}@efnet-demo.example")
    login_id = factory.Sequence(lambda n: f"extra{n}")
    password = factory.Sequence(lambda n: f"Addr{n:04d}pw")
    issued_on = datetime.date(2025, 11, 6)
