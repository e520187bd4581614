from django.urls import path

from tenants.views import settings as views

app_name = "tenant_settings"

urlpatterns = [
    path("", views.index, name="index"),
    path("brand/", views.brand, name="brand"),
    path("agents/", views.agents, name="agents"),
    path("agents/invite/", views.agent_invite, name="agent_invite"),
    path("agents/<int:user_id>/", views.agent_update, name="agent_update"),
    path("plan/", views.plan, name="plan"),
    path("domains/", views.domains, name="domains"),
    path("domains/<int:domain_id>/", views.domain_action, name="domain_action"),
    path("audit/", views.audit, name="audit"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke", views.token_revoke, name="token_revoke"),
]
