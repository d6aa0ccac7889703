from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from prescriptions.models import Prescriber
from prescriptions.npi import validate_npi

from .models import DelegateInvite, User
from .validators import PASSWORD_REQUIREMENT


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": "The email or password is not correct.",
        "inactive": "This account is disabled. Contact %(support)s.",
    }


class EmailSignInForm(forms.Form):
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class SudoForm(forms.Form):
    """The password, or a code from the authenticator app, given again before a security
    action (sudo mode)."""

    secret = forms.CharField(
        label="Password or authentication code",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()


class PasswordFieldsMixin(forms.Form):
    """Password and confirmation, checked against AUTH_PASSWORD_VALIDATORS."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        help_text=PASSWORD_REQUIREMENT,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def password_user(self) -> User | None:
        return None

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        cleaned = cast(dict[str, Any], super().clean())
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords do not match.")
        elif p1:
            try:
                password_validation.validate_password(p1, self.password_user())
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class RegistrationForm(forms.Form):
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    phone = forms.CharField(
        label="Phone",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    npi = forms.CharField(
        label="NPI",
        max_length=10,
        help_text="Your 10-digit National Provider Identifier.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_phone(self) -> str:
        digits = "".join(c for c in self.cleaned_data["phone"] if c.isdigit())
        if len(digits) < 10:
            raise ValidationError("Enter a phone number with area code (10 digits).")
        return digits

    def clean_npi(self) -> str:
        npi = self.cleaned_data["npi"].strip()
        validate_npi(npi)
        prescriber = Prescriber.objects.filter(npi=npi).first()
        if prescriber is None:
            raise ValidationError(
                "This NPI is not in our prescriber directory.", code="npi_unknown"
            )
        # An NPI that already has an account goes on like any other (no enumeration); its
        # owner is told by email at the last step.
        self.prescriber = prescriber
        return npi


class IdentityForm(forms.Form):
    """Radio groups built from the questions kept in the session."""

    def __init__(self, *args: Any, questions: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in questions:
            self.fields[q["name"]] = forms.ChoiceField(
                label=q["label"], choices=[(c, c) for c in q["choices"]], widget=forms.RadioSelect
            )


class SetPasswordForm(PasswordFieldsMixin):
    def __init__(self, *args: Any, user_data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.user_data = user_data or {}
        super().__init__(*args, **kwargs)

    def password_user(self) -> User:
        return User(
            email=self.user_data.get("email", ""),
            first_name=self.user_data.get("first_name", ""),
            last_name=self.user_data.get("last_name", ""),
        )


class InviteRegistrationForm(PasswordFieldsMixin):
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label="Phone",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )

    field_order = ["first_name", "last_name", "email", "phone", "password1", "password2"]

    def __init__(self, *args: Any, invite: DelegateInvite, **kwargs: Any) -> None:
        self.invite = invite
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email != self.invite.email.lower():
            raise ValidationError("Email must match with the email where you received the invite.")
        return email

    def password_user(self) -> User:
        return User(
            email=self.invite.email,
            first_name=self.data.get("first_name", ""),
            last_name=self.data.get("last_name", ""),
        )


class InviteDelegateForm(forms.Form):
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off"}))


class ChangePasswordForm(PasswordFieldsMixin):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "password1", "password2"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["password1"].label = "New password"
        self.fields["password2"].label = "Confirm new password"

    def clean_current_password(self) -> str:
        value = self.cleaned_data["current_password"]
        if not self.user.check_password(value):
            raise ValidationError("Your current password is not correct.")
        return value

    def password_user(self) -> User:
        return self.user


class ChangeEmailForm(forms.Form):
    email = forms.EmailField(
        label="New email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        value = self.cleaned_data["current_password"]
        if not self.user.check_password(value):
            raise ValidationError("Your current password is not correct.")
        return value

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise ValidationError("This email cannot be used for your account.")
        return email
