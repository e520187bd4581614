from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.tokens import password_reset_token

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("login/setup/", views.login_setup, name="login_setup"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("security/", views.security, name="security"),
    path("security/2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("security/2fa/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("security/2fa/recovery-codes/", views.recovery_codes_regenerate, name="recovery_codes"),
    path("security/2fa/policy/", views.two_factor_policy, name="two_factor_policy"),
    path("security/2fa/reset/<int:user_id>/", views.two_factor_reset, name="two_factor_reset"),
    path("security/sessions/<int:session_id>/revoke/", views.session_revoke, name="session_revoke"),
    path("security/sessions/revoke-others/", views.session_revoke_others, name="session_revoke_others"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset_form.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            token_generator=password_reset_token,
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            token_generator=password_reset_token,
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]
