from django import forms
from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler

from efnet.formfields import MemberNumberField


class UploadForm(forms.Form):
    file = forms.FileField(
        label="FAXサーバーのファイル（PDFまたはTIFF）",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.tif,.tiff,application/pdf,image/tiff"}),
    )


class MatchForm(forms.Form):
    number = MemberNumberField(label="会員番号")


class InMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps the upload in memory up to FAXREPLIES_MAX_UPLOAD_MB, so received faxes (personal data) never land
    unencrypted in a temporary file; the service writes them encrypted."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = content_length <= settings.FAXREPLIES_MAX_UPLOAD_MB * 1024 * 1024 + 64 * 1024
