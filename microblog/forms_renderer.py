"""Project-wide form rendering: Bootstrap markup, errors next to their fields."""

from django.forms.renderers import TemplatesSetting


class BootstrapFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
