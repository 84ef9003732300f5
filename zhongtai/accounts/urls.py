"""Sign-in, sign-out, account security and a unit's users, under /accounts/ (namespace ``accounts``)."""

from __future__ import annotations

from django.urls import path

from zhongtai.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify_view, name="login-verify"),
    path("login/enrol/", views.login_enrol_view, name="login-enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("security/", views.security_view, name="security"),
    path("security/password/", views.password_change_view, name="password-change"),
    path("security/totp/", views.totp_setup_view, name="totp-setup"),
    path("security/totp/disable/", views.totp_disable_view, name="totp-disable"),
    path("unit-users/", views.unit_users_view, name="unit-users"),
    path("unit-users/<int:pk>/active/", views.unit_user_active_view, name="unit-user-active"),
    path("unit-users/<int:pk>/password/", views.unit_user_password_view, name="unit-user-password"),
]
