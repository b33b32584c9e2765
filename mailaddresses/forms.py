from django import forms

from efnet import normalize
from efnet.formfields import NormalizedEmailField
from efnet.passwords import validate_biglobe_password
from efnet.scoping import refuse_if_taken
from mailaddresses.models import AdditionalMailAddress


class AddressForm(forms.ModelForm):
    class Meta:
        model = AdditionalMailAddress
        fields = ["address", "login_id", "issued_on", "pop3_server", "smtp_server", "smtp_port", "is_active"]
        widgets = {"issued_on": forms.DateInput(attrs={"type": "date"})}
        field_classes = {"address": NormalizedEmailField}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_address(self):
        value = self.cleaned_data["address"]
        refuse_if_taken(
            self.user,
            AdditionalMailAddress.objects.select_related("member"),
            field="address",
            value=value,
            label="メールアドレス",
            exclude_pk=self.instance.pk,
            office_path="member__office",
            describe=lambda a: f"会員 {a.member.number} {a.member.name} の追加メールアドレス{a.slot}",
        )
        return value

    def clean_login_id(self):
        return normalize.identifier(self.cleaned_data["login_id"])


class AddressPasswordForm(forms.Form):
    password = forms.CharField(
        label="パスワード",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        validators=[validate_biglobe_password],
    )

    def clean_password(self):
        return normalize.nfkc(self.cleaned_data["password"])
