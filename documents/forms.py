from django import forms

from efnet.formfields import VisibleOfficeField
from members.models import MemberCard

REASON_CHOICES = MemberCard.Reason.choices
# The password reset has its own action; the other reasons may be picked when reissuing.
REISSUE_CHOICES = [c for c in REASON_CHOICES if c[0] != MemberCard.Reason.PASSWORD_RESET]


class CardIssueForm(forms.Form):
    reason = forms.ChoiceField(label="発行理由", choices=REISSUE_CHOICES, initial=MemberCard.Reason.LOST)


class AddressListIssueForm(forms.Form):
    reason = forms.ChoiceField(label="発行理由", choices=REISSUE_CHOICES, initial=MemberCard.Reason.LOST)
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
    reason = forms.ChoiceField(label="発行理由", choices=REISSUE_CHOICES, initial=MemberCard.Reason.LOST)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].restrict_to(user)
        if user.office_id:
            self.fields["office"].initial = user.office_id
