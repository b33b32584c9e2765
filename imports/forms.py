from django import forms

from imports import columns

ENCODING_CHOICES = [
    ("", "自動判別"),
    ("cp932", "Shift_JIS (CP932)"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM付き)"),
]


class UploadForm(forms.Form):
    file = forms.FileField(label="ファイル（CSV または .xlsx）")
    encoding = forms.ChoiceField(label="文字コード（CSV）", choices=ENCODING_CHOICES, required=False)


class MappingForm(forms.Form):
    """One choice per column the import did not recognise; the ones it did are shown, not asked."""

    def __init__(self, *args, batch, unknown: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.unknown = unknown
        for index, header in enumerate(unknown):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=columns.field_choices(), required=False, initial=batch.mapping.get(header, "")
            )
        if batch.file_format == "csv":
            self.fields["encoding"] = forms.ChoiceField(
                label="文字コード", choices=ENCODING_CHOICES, required=False, initial=""
            )

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(f"col_{i}", "") for i, header in enumerate(self.unknown)}


class ConfirmForm(forms.Form):
    skip_errors = forms.BooleanField(label="エラーの行を除いて、正しい行だけを取り込む", required=False)


class ExportForm(forms.Form):
    encoding = forms.ChoiceField(
        label="形式", choices=[("cp932", "CSV（Shift_JIS・Excel向け）"), ("utf-8-sig", "CSV（UTF-8 BOM付き）")]
    )


class CredentialExportForm(forms.Form):
    reason = forms.CharField(label="出力する理由", max_length=200)
    file_password = forms.CharField(
        label="ファイルを開くパスワード（12文字以上）", min_length=12, max_length=128, widget=forms.PasswordInput
    )
    file_password_again = forms.CharField(label="もう一度", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("file_password") and data.get("file_password") != data.get("file_password_again"):
            self.add_error("file_password_again", "パスワードが一致しません。")
        return data
