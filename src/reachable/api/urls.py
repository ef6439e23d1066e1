from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from reachable.api.views import EventSubmitView

app_name = "api"
urlpatterns = [
    path("v1/events", EventSubmitView.as_view(), name="events"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
