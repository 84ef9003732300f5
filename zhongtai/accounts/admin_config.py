"""The admin app's configuration for the bureaus' workbench (in INSTALLED_APPS instead of
``django.contrib.admin``). A module of its own: ``apps.py`` may hold only one default config,
and the site module imports models, which cannot happen while apps load."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class WorkbenchAdminConfig(AdminConfig):
    """The Django admin as the bureaus' workbench: signed in through accounts, scoped by region."""

    default_site = "zhongtai.accounts.admin_site.WorkbenchAdminSite"
