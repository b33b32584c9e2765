"""Form fields that normalise what a Japanese IME types before validating it."""

from django import forms

from efnet import normalize


class NormalizedEmailField(forms.EmailField):
    """ＡＢＣ＠example.jp (full-width) is accepted as abc@example.jp."""

    def to_python(self, value):
        return normalize.identifier(super().to_python(value))


class MemberNumberField(forms.CharField):
    """A member number as people type it: full-width digits, hyphens, dashes and spaces between digit groups
    (０１２３－４５６－７８９) arrive as 0123456789. The browser's ``maxlength`` leaves room for the separators, so
    it never cuts a number before it is normalised; the 4–10 digit rule is checked on the normalised value."""

    def __init__(self, **kwargs):
        # Also over a model field's max_length=10, which counts stored digits, not what is typed.
        kwargs["max_length"] = normalize.MEMBER_NUMBER_TYPED_MAX_LENGTH
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")

    def to_python(self, value):
        return normalize.member_number(super().to_python(value))


class _ReadOnce(forms.models.ModelChoiceIterator):
    """The choices from one plain query. Django's iterator reads them through ``QuerySet.iterator()``, which on
    PostgreSQL is a server-side cursor (DECLARE … WITH HOLD, FETCH, CLOSE: three round trips and a
    materialised result) — a few milliseconds on every page with an office menu, for a dozen offices."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in list(self.queryset):
            yield self.choice(obj)


class VisibleOfficeField(forms.ModelChoiceField):
    """A sales office among those the user may see (``restrict_to(user)`` in the form's ``__init__``).

    Choosing another office (by editing the form or the URL) is refused as an invalid choice and audited
    like opening another office's member; the message says nothing about whether that office exists."""

    default_error_messages = {"invalid_choice": "この営業所は選べません。"}
    iterator = _ReadOnce

    def __init__(self, queryset=None, **kwargs):
        from members.models import SalesOffice

        # Nothing until restrict_to: a form that forgets it offers no office rather than every office.
        super().__init__(queryset=SalesOffice.objects.none(), **kwargs)
        self.user = None

    def restrict_to(self, user) -> None:
        from efnet.scoping import offices_visible_to

        self.user = user
        self.queryset = offices_visible_to(user)

    def to_python(self, value):
        from efnet.ids import parse_id
        from efnet.scoping import record_denied
        from members.models import SalesOffice

        if value in self.empty_values:
            return None
        pk = value.pk if isinstance(value, SalesOffice) else parse_id(str(value))
        office = self.queryset.filter(pk=pk).first() if pk is not None else None
        if office is None:
            hidden = SalesOffice.objects.filter(pk=pk).first() if pk is not None else None
            if hidden is not None:
                record_denied(self.user, hidden, why="office_not_visible", field=str(self.label or "office"))
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return office
