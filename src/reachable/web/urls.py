"""The web UI's URLs. Names, paths and methods follow notes/url-contract.md."""

from django.contrib.auth import views as auth_views
from django.urls import path

from reachable.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in", views.SignInView.as_view(), name="login"),
    path("sign-out", auth_views.LogoutView.as_view(), name="logout"),
    path("people", views.search, name="search"),
    path("people/<int:person_id>", views.person, name="person"),
    path("people/<int:person_id>/emergency-access", views.break_glass, name="break_glass"),
    path("people/<int:person_id>/viewers", views.person_viewers, name="person_viewers"),
    path("alerts", views.queue, name="queue"),
    path("alerts/<int:alert_id>", views.alert, name="alert"),
    path("alerts/<int:alert_id>/acknowledge", views.alert_acknowledge,
         name="alert_acknowledge"),
    path("notifications", views.notifications, name="notifications"),
]
