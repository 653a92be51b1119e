from django.urls import path

from qingquan.telephony import callback_views, views

app_name = "telephony"

urlpatterns = [
    path("events", views.events, name="events"),
    path("simulator/", views.simulator, name="simulator"),
    path("blocked/", views.blocked, name="blocked"),
    path("state/", views.agent_state, name="state"),
    path("state/panel/", views.agent_state_panel, name="state_panel"),
    path("recordings/<int:contact_id>/", views.recording, name="recording"),
    path("flows/", views.flows_index, name="flows"),
    path("flows/speak/", views.flow_speak, name="flow_speak"),
    path("flows/edit/", views.flow_edit, name="flow"),
    path("flows/test/", views.flow_test_call, name="flow_test"),
    path("prompts/", views.prompt_edit, name="prompt"),
    path("callbacks/", callback_views.callback_list, name="callbacks"),
]
