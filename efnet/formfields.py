"""Form fields that normalise what a Japanese IME types before validating it."""

from django import forms

from efnet import normalize


class NormalizedEmailField(forms.EmailField):
    """ＡＢＣ＠example.jp (full-width) is accepted as abc@example.jp."""

    def to_python(self, value):
        return normalize.identifier(super().to_python(value))
