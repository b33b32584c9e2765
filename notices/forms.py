from django import forms

from efnet.formfields import MemberNumberField
from members.models import Member, SalesOffice
from notices import rendering
from notices.models import Notice, NoticeTemplate
from tracking.models import Campaign


class NoticeForm(forms.ModelForm):
    class Meta:
        model = Notice
        fields = [
            "campaign",
            "edition",
            "title",
            "date",
            "date_style",
            "body",
            "audience_status",
            "audience_office",
            "audience_addresses",
            "audience_edition",
            "audience_edition_rule",
            "audience_channel",
        ]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "body": forms.Textarea(attrs={"rows": 30, "class": "notice-body"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience_office"].queryset = SalesOffice.objects.order_by("sort_order", "id")
        self.fields["audience_office"].empty_label = "すべての営業所"
        self.fields["campaign"].queryset = Campaign.objects.all()
        self.fields["body"].help_text = (
            "差し込み項目: "
            + "、".join(f"{{{{ {name} }}}}" for name in rendering.FIELDS)
            + "。条件: "
            + "、".join(f"{{% if {name} %}}…{{% else %}}…{{% endif %}}" for name in rendering.CONDITIONS)
        )

    def clean_body(self):
        body = self.cleaned_data["body"]
        try:
            rendering.parse(body)
        except rendering.NoticeTemplateError as e:
            raise forms.ValidationError(str(e))
        return body


class CopyTemplateForm(forms.Form):
    template = forms.ModelChoiceField(label="ひな形", queryset=NoticeTemplate.objects.all(), empty_label=None)
    campaign = forms.ModelChoiceField(label="キャンペーン", queryset=Campaign.objects.all(), empty_label=None)
    edition = forms.IntegerField(label="第N報", min_value=1, max_value=99, initial=2)


class PreviewForm(forms.Form):
    member = forms.ModelChoiceField(label="会員", queryset=Member.objects.filter(is_active=True), required=False)
    number = MemberNumberField(label="会員番号", required=False)


class UnknownDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("resend", "もう一度送る"), ("sent", "送信済みとする")])
