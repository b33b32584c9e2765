from django import forms
from django.utils import timezone

from efnet import normalize
from efnet.formfields import VisibleOfficeField
from tracking.models import CallResult, Campaign, Source, Status
from tracking.selectors import INCOMPLETE, current_campaign

# Session key of a 「ほかの記録…」 form refused for its input: the member page shows it again, open.
RECORD_RETRY = "tracking_record_retry"

# Sources a person can choose (案内送付 is written by the notices, not typed).
RECORDABLE_SOURCES = [(s.value, s.label) for s in Source if s != Source.NOTICE]


class ListFilterForm(forms.Form):
    campaign = forms.ModelChoiceField(label="キャンペーン", queryset=Campaign.objects.all(), required=False)
    office = VisibleOfficeField(label="営業所", required=False, empty_label="すべての営業所")
    status = forms.ChoiceField(label="状態", required=False)
    q = forms.CharField(
        label="会員",
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "会員番号・会社名・フリガナ"}),
    )

    def __init__(self, *args, user, **kwargs):
        if args and args[0] is not None and not args[0].get("campaign"):
            # No campaign asked for: show the current one chosen, the one the list falls back to.
            campaign = current_campaign()
            if campaign is not None:
                data = args[0].copy()
                data["campaign"] = str(campaign.pk)
                args = (data, *args[1:])
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("campaign", current_campaign())
        self.fields["office"].restrict_to(user)
        self.fields["status"].choices = [
            ("", "すべて"),
            (INCOMPLETE, "未完了（未案内＋案内済）"),
            *[(s.value, s.label) for s in Status],
        ]
        if user.office_id is not None:
            # An office user has one office: the choice would only confuse.
            self.fields["office"].widget = forms.HiddenInput()

    def values(self) -> dict:
        """Cleaned filters, falling back to the current campaign; invalid input is ignored, not an error
        (except an office the user may not see: the views refuse that, see ``office_refused``)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "campaign": data.get("campaign") or current_campaign(),
            "office": data.get("office"),
            "status": data.get("status") or "",
            "q": normalize.nfkc(data.get("q") or ""),
        }

    @property
    def office_refused(self) -> bool:
        """An office was asked for that is not one of the user's (tampered, or gone): refuse, don't widen."""
        self.is_valid()
        return "office" in self.errors


class StatusActionForm(forms.Form):
    """What to record: for one account on the member page, or for many on the account list."""

    status = forms.ChoiceField(label="状態", choices=[(s.value, s.label) for s in Status])
    status_on = forms.DateField(label="日付", widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(label="確認方法", choices=RECORDABLE_SOURCES, initial=Source.PHONE)
    note = forms.CharField(label="メモ", required=False, max_length=500)

    def __init__(self, *args, bulk: bool = False, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("status_on", timezone.localdate())
        kwargs["initial"].setdefault("source", Source.PHONE)
        if not bulk:
            kwargs["initial"].setdefault("status", Status.DONE)
        super().__init__(*args, **kwargs)
        if bulk:
            # Many accounts at once: no status is chosen for the clerk (未案内 first in the list was the
            # riskiest default); the form cannot be sent until one is.
            self.fields["status"].choices = [("", "状態を選んでください"), *self.fields["status"].choices]
            self.fields["status"].error_messages["required"] = "設定する状態を選んでください。"

    def clean_status_on(self):
        value = self.cleaned_data["status_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("未来の日付は指定できません。")
        return value

    def clean(self):
        data = super().clean()
        if data.get("status") == Status.EXCLUDED and not (data.get("note") or "").strip():
            self.add_error("note", "対象外にする理由をメモに入力してください。")
        return data


class CallResultForm(forms.Form):
    """One call's outcome, from a row of the call list."""

    result = forms.ChoiceField(label="架電結果", choices=[("", "結果…"), *CallResult.choices])
    called_on = forms.DateField(label="架電日", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="メモ", required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("called_on", timezone.localdate())
        super().__init__(*args, **kwargs)
