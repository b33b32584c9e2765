from django import forms

from efnet import normalize
from efnet.formfields import MemberNumberField, NormalizedEmailField, VisibleOfficeField
from efnet.passwords import validate_biglobe_password
from efnet.scoping import refuse_if_taken
from members.models import Member


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label="検索",
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": "会員番号・会社名・フリガナ・ユーザーID・メールアドレス",
                "autofocus": True,
                "type": "search",
            }
        ),
    )
    office = VisibleOfficeField(label="営業所", required=False, empty_label="すべての営業所")
    state = forms.ChoiceField(label="パスワード変更の状態", required=False)
    inactive = forms.BooleanField(label="無効な会員も表示", required=False)

    def __init__(self, *args, user, **kwargs):
        from tracking.models import Status
        from tracking.selectors import INCOMPLETE

        super().__init__(*args, **kwargs)
        self.fields["office"].restrict_to(user)
        self.fields["state"].choices = [
            ("", "すべて"),
            (INCOMPLETE, "未完了（未案内＋案内済）"),
            *[(s.value, s.label) for s in Status],
        ]


class MemberForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = [
            "number",
            "registered_on",
            "name",
            "name_kana",
            "office",
            "postal_code",
            "address",
            "phone",
            "fax",
            "biglobe_user_id",
            "email",
            "pop3_server",
            "smtp_server",
            "is_active",
            "note",
        ]
        field_classes = {"number": MemberNumberField, "email": NormalizedEmailField, "office": VisibleOfficeField}
        widgets = {"registered_on": forms.DateInput(attrs={"type": "date"}), "note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["office"].restrict_to(user)
        if user.office_id is not None:
            self.fields["office"].initial = user.office_id

    UNIQUE_LABELS = {"number": "会員番号", "biglobe_user_id": "BIGLOBEユーザーID"}

    def _refuse_if_taken(self, field: str, value: str) -> str:
        refuse_if_taken(
            self.user,
            Member.objects.all(),
            field=field,
            value=value,
            label=self.UNIQUE_LABELS[field],
            exclude_pk=self.instance.pk,
            describe=lambda m: f"会員 {m.number} {m.name}",
        )
        return value

    def clean_number(self):
        return self._refuse_if_taken("number", self.cleaned_data["number"])

    def clean_biglobe_user_id(self):
        return self._refuse_if_taken("biglobe_user_id", normalize.identifier(self.cleaned_data["biglobe_user_id"]))

    def clean_name_kana(self):
        return normalize.kana(self.cleaned_data["name_kana"])

    def clean_postal_code(self):
        return normalize.postal_code(self.cleaned_data["postal_code"])

    def clean_phone(self):
        return normalize.phone(self.cleaned_data["phone"])

    def clean_fax(self):
        return normalize.phone(self.cleaned_data["fax"])


class InitialPasswordForm(forms.Form):
    password = forms.CharField(
        label="初期パスワード",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="8〜16文字、数字・英小文字・英大文字・記号のうち2種類以上。",
        validators=[validate_biglobe_password],
    )

    def clean_password(self):
        return normalize.nfkc(self.cleaned_data["password"])
