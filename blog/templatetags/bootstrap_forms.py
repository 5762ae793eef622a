"""Render a form field's widget with Bootstrap classes and its errors linked for screen readers."""

from django import forms, template

register = template.Library()


@register.filter
def bootstrap_widget(field):
    widget = field.field.widget
    css = "form-check-input" if isinstance(widget, forms.CheckboxInput) else "form-control"
    attrs = {"class": css + (" is-invalid" if field.errors else "")}
    if field.errors:
        attrs["aria-describedby"] = f"{field.auto_id}_errors"
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
