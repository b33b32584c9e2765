from django import forms

from efnet import normalize
from efnet.formfields import NormalizedEmailField
from efnet.passwords import validate_biglobe_password
from mailaddresses.models import AdditionalMailAddress


class AddressForm(forms.ModelForm):
    class Meta:
        model = AdditionalMailAddress
        fields = ["address", "login_id", "issued_on", "pop3_server", "smtp_server", "smtp_port", "is_active"]
        widgets = {"issued_on": forms.DateInput(attrs={"type": "date"})}
        field_classes = {"address": NormalizedEmailField}

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
