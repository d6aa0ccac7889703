from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.http import HttpRequest

from accounts.forms import PasswordFieldsMixin
from accounts.models import User

from .validation import MSG_FIRST, MSG_LAST, NAME_MAX, clean_email, clean_mobile

if TYPE_CHECKING:
    from .models import Invite


class InviteRowForm(forms.Form):
    """One patient on the 'Send an Invitation' form."""

    first_name = forms.CharField(
        label="First Name", max_length=NAME_MAX, error_messages={"required": MSG_FIRST}
    )
    last_name = forms.CharField(
        label="Last Name", max_length=NAME_MAX, error_messages={"required": MSG_LAST}
    )
    email = forms.CharField(
        label="Email",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    mobile = forms.CharField(
        label="Mobile Number",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_email(self) -> str:
        return clean_email(self.cleaned_data.get("email", ""))

    def clean_mobile(self) -> str:
        return clean_mobile(self.cleaned_data.get("mobile", ""))


InviteFormSet = forms.formset_factory(
    InviteRowForm, extra=0, min_num=1, validate_min=True, max_num=50
)


class CSVUploadForm(forms.Form):
    csv_file = forms.FileField(
        label="CSV file",
        error_messages={
            "required": "Choose a .csv file to import.",
            "empty": "The file is empty. Use the CSV template and add one patient per row.",
        },
    )


class JoinCodeForm(forms.Form):
    code = forms.RegexField(
        label="Invite Code",
        regex=r"^\s*\d{6}\s*$",
        max_length=10,
        error_messages={
            "invalid": "Enter the 6-digit invite code.",
            "required": "Enter the 6-digit invite code.",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    last_name = forms.CharField(
        label="Last Name",
        required=False,
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    date_of_birth = forms.DateField(
        label="Date of Birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        help_text="Enter your last name, or your date of birth if your clinic has it.",
    )

    def clean(self) -> dict[str, Any]:
        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        data = cast(dict[str, Any], super().clean())
        if not data.get("last_name") and not data.get("date_of_birth"):
            raise forms.ValidationError("Enter your last name or your date of birth.")
        return data


class JoinAccountForm(PasswordFieldsMixin):
    """Email and password of a new patient account. Whether the email already has an account
    is not checked here: the answer must not say (join_with_new_account tells the owner)."""

    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    field_order = ["email", "password1", "password2"]

    def __init__(
        self, *args: Any, first_name: str = "", last_name: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.first_name, self.last_name = first_name, last_name

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def password_user(self) -> User:
        return User(
            email=self.cleaned_data.get("email", ""),
            first_name=self.first_name,
            last_name=self.last_name,
        )


class JoinSignInForm(forms.Form):
    """Join with the portal account a patient already has (another clinic invited them before)."""

    login_email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )
    login_password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    WRONG = "That email and password do not match a patient account. Check them and try again."
    NOT_YOU = "This invitation was sent to someone else. Ask your clinic for an invite of your own."

    def __init__(
        self,
        *args: Any,
        request: HttpRequest | None = None,
        invite: Invite,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request, self.invite = request, invite
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        from django.contrib.auth import authenticate  # noqa: PLC0415

        # Form.clean returns cleaned_data; the stubs allow None for overrides that return nothing.
        data = cast(dict[str, Any], super().clean())
        email, password = data.get("login_email"), data.get("login_password")
        if not email or not password:
            return data
        # Through django-axes: failed attempts count towards the lock-out like the sign-in page.
        user = authenticate(self.request, username=email.lower(), password=password)
        if user is None or not user.is_patient:
            raise forms.ValidationError(self.WRONG)
        invite = self.invite
        same_person = (
            user.email.lower() == invite.email.lower()
            if invite.email
            else user.last_name.strip().lower() == invite.last_name.strip().lower()
        )
        if not same_person:
            raise forms.ValidationError(self.NOT_YOU)
        self.user = user
        return data
