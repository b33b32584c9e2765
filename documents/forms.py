from django import forms

from efnet.formfields import VisibleOfficeField
from mailaddresses.models import AddressListIssue
from members.models import MemberCard

Reason = MemberCard.Reason
# 「会員証を再発行」 on the member page: a reissue is never 新規, and the password reset has its own action.
CARD_REISSUE_CHOICES = [(r.value, r.label) for r in (Reason.LOST, Reason.DETAILS_CHANGED)]
# A batch also prints first cards for new members.
BATCH_CHOICES = [(r.value, r.label) for r in (Reason.NEW, Reason.LOST, Reason.DETAILS_CHANGED)]


class CardIssueForm(forms.Form):
    reason = forms.ChoiceField(label="発行理由", choices=CARD_REISSUE_CHOICES, initial=Reason.LOST)


class AddressListIssueForm(forms.Form):
    reason = forms.ChoiceField(
        label="発行理由", choices=AddressListIssue.Reason.choices, initial=AddressListIssue.Reason.LOST
    )
    highlight_date = forms.DateField(
        label="今回追加分の発行日",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="空欄なら最も新しい発行日",
    )


class PasswordResetForm(forms.Form):
    confirm = forms.BooleanField(label="BIGLOBEでパスワードを再設定しました", required=True)


class BatchForm(forms.Form):
    office = VisibleOfficeField(label="営業所", empty_label=None)
    no_card_since = forms.DateField(
        label="この日以降に会員証を発行していない会員",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="空欄なら営業所の全会員",
    )
    reason = forms.ChoiceField(label="発行理由", choices=BATCH_CHOICES, initial=Reason.LOST)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].restrict_to(user)
        if user.office_id:
            self.fields["office"].initial = user.office_id


class AddressBatchForm(forms.Form):
    """「追加メールアドレスリストの一括発行」: the lists of an office's members with additional addresses."""

    office = VisibleOfficeField(label="営業所", empty_label=None)
    issued_since = forms.DateField(
        label="この日以降に追加メールアドレスを発行した会員",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="空欄なら追加メールアドレスのある全会員",
    )
    only_open = forms.BooleanField(
        label="パスワード変更が済んでいない追加メールアドレスがある会員のみ",
        required=False,
        help_text="現在のキャンペーンで、追加メールアドレスがすべて完了（または対象外）の会員を除きます",
    )
    reason = forms.ChoiceField(
        label="発行理由", choices=AddressListIssue.Reason.choices, initial=AddressListIssue.Reason.NEW_ADDRESS
    )

    prefix = "lists"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].restrict_to(user)
        if user.office_id:
            self.fields["office"].initial = user.office_id
