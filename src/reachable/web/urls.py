"""The web UI's URLs. Names, paths and methods follow notes/url-contract.md."""

from django.contrib.auth import views as auth_views
from django.urls import path

from reachable.web import alert_views, review_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in", views.SignInView.as_view(), name="login"),
    path("sign-out", auth_views.LogoutView.as_view(), name="logout"),
    path("people", views.search, name="search"),
    path("people/<int:person_id>", views.person, name="person"),
    path("people/<int:person_id>/emergency-access", views.break_glass, name="break_glass"),
    path("people/<int:person_id>/viewers", views.person_viewers, name="person_viewers"),
    path("alerts", alert_views.queue, name="queue"),
    path("alerts/mine", alert_views.my_alerts, name="my_alerts"),
    path("alerts/<int:alert_id>", views.alert, name="alert"),
    path("alerts/<int:alert_id>/assign", alert_views.assign, name="alert_assign"),
    path("alerts/<int:alert_id>/reroute", alert_views.reroute, name="alert_reroute"),
    path("alerts/<int:alert_id>/escalate", alert_views.escalate, name="alert_escalate"),
    path("rules", alert_views.rules_page, name="rules"),
    path("alerts/<int:alert_id>/acknowledge", views.alert_acknowledge,
         name="alert_acknowledge"),
    path("notifications", views.notifications, name="notifications"),
    path("notifications/read", views.notifications_read, name="notifications_read"),
    # The master person index: clerical review of possible matches, merges and their undo.
    path("match-reviews", review_views.review_queue, name="review_queue"),
    path("match-reviews/<int:item_id>", review_views.review_item, name="review_item"),
    path("match-reviews/<int:item_id>/decision", review_views.review_decide,
         name="review_decide"),
    path("merges/<int:merge_id>", review_views.merge, name="merge"),
    path("merges/<int:merge_id>/undo", review_views.merge_undo, name="merge_undo"),
]
