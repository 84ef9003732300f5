from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from zhongtai.core.views import health

admin.site.site_header = "财政电子票据管理系统"
admin.site.site_title = "财政电子票据管理系统"
admin.site.index_title = "财政部门工作台"

handler404 = "zhongtai.core.views.not_found"
handler500 = "zhongtai.core.views.server_error"

api_v1 = [
    path("", include("issuance.urls")),
    path("", include("issuance.paper.urls")),
    path("", include("settlement.urls")),
    path("", include("verification.urls")),  # /api/v1/public/...: reimbursing parties
    path("", include("zhongtai.webhooks.urls")),  # callback addresses, batches
]

urlpatterns = [
    path("", include("qianduan.urls")),
    path("portal/", include("qianduan.portal_urls")),
    path("accounts/", include("zhongtai.accounts.urls")),
    path("workbench/", include("zhongtai.onboarding.urls")),
    path("admin/", admin.site.urls),
    path("verify/", include("verification.page_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health, name="health"),
]
