"""Web forms. They only carry and clean input; the services decide what is valid, so the web
and the API can never disagree about a rule. Service errors are copied onto the form."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from reachable.core.errors import ValidationFailed


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. Both are case sensitive.",
        "inactive": "This account is not active. Ask your administrator.",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"


class AcknowledgeForm(forms.Form):
    information_shared = forms.CharField(required=False, max_length=4000, strip=True)
    outcome = forms.CharField(required=False, max_length=2000, strip=True)


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False)


class RerouteForm(forms.Form):
    team = forms.IntegerField(required=False)
    reason = forms.CharField(required=False, max_length=2000, strip=True)


class EscalateForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, strip=True)


class BreakGlassForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000, strip=True)


def copy_errors(form: forms.Form, error: ValidationFailed) -> None:
    """Put a service's field errors on the form (unknown fields become form-wide errors)."""
    for name, messages in error.errors.items():
        field = name if name in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field, str(message))
