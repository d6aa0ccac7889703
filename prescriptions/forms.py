from django import forms

from .models import SavedFilter


class SavedFilterForm(forms.ModelForm):
    """Name the dashboard's current filters; the query string comes from the page itself."""

    class Meta:
        model = SavedFilter
        fields = ["name"]
        labels = {"name": "Name this filter"}
        widgets = {"name": forms.TextInput(attrs={"maxlength": 80, "autocomplete": "off"})}
