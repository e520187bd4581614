from django.urls import path

from tenants.views import plan as plan_views
from tenants.views import settings as views

app_name = "tenant_settings"

urlpatterns = [
    path("", views.index, name="index"),
    path("brand/", views.brand, name="brand"),
    path("agents/", views.agents, name="agents"),
    path("agents/invite/", views.agent_invite, name="agent_invite"),
    path("agents/<int:user_id>/", views.agent_update, name="agent_update"),
    path("plan/", plan_views.plan, name="plan"),
    path("plan/change/", plan_views.plan_change, name="plan_change"),
    path("plan/cancel/", plan_views.plan_cancel, name="plan_cancel"),
    path("plan/resume/", plan_views.plan_resume, name="plan_resume"),
    path("plan/payment-method/", plan_views.payment_method, name="plan_payment_method"),
    path("plan/invoices/<int:invoice_id>/", plan_views.invoice_detail, name="invoice"),
    path("plan/invoices/<int:invoice_id>/pdf/", plan_views.invoice_pdf, name="invoice_pdf"),
    path("domains/", views.domains, name="domains"),
    path("domains/<int:domain_id>/", views.domain_action, name="domain_action"),
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke", views.token_revoke, name="token_revoke"),
]
