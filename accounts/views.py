from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .forms import SignInForm


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; POST signs out and returns to the sign-in page."""
    if request.method == "POST":
        if request.user.is_authenticated:
            logout(request)
            messages.success(request, "You have been signed out.")
        return redirect("accounts:login")
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return render(request, "accounts/sign_out.html")


@require_http_methods(["POST"])
def keep_alive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in' from the idle warning: any non-passive request counts as activity."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)
